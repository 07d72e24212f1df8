// Package doctest keeps the tutorial honest: it replays the shell sessions of
// README.md as testscript files in testdata/ and checks that README.md shows
// exactly what those scripts check.
//
// A chapter's test registers its program and runs its scripts:
//
//	var program = doctest.Program{Name: "threads", Main: main, Dir: "02-threads"}
//
//	func TestMain(m *testing.M)     { doctest.Main(m, program) }
//	func TestScripts(t *testing.T) { doctest.Run(t, program) }
//
// The scripts in testdata/02-threads then run the program's own main, built
// into the test binary, from the repository root: `exec threads args` is
// what a reader types as `go run ./02-threads args`. A script checks a
// non-zero exit status with `exits N threads args`.
//
// A shell session in README.md is a fenced block right after a line
//
//	<!-- session: testdata/02-threads/bad-line.txtar -->
//
// and its text must be the script's command, standard output, standard error
// and, when it is not zero, the exit status, as `go run` reports it. Go code
// in README.md follows a line `<!-- quote: 01-subprocess/main.go -->` and
// must appear in that file as it is.
//
// With `go test ./... -update` the scripts' golden files and the README
// sessions are rewritten from what the programs print: read the diff before
// you commit it.
//
// The numbers in README.md come from benchmarks; Speedup and PerTask are
// the measurements that chapters 02 and 03 share.
package doctest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
)

// update is the one flag that rewrites goldens and README sessions. Every test
// binary in the repository imports this package, so `go test ./... -update`
// is accepted by all of them.
var update = flag.Bool("update", false, "rewrite golden files in testdata and sessions in README.md from the programs' output")

// A Program is a chapter's main function and where it lives.
type Program struct {
	Name string // the command name scripts use with exec
	Main func() // the program's main function
	Dir  string // its directory from the repository root, as in `go run ./Dir`
}

// Main runs the tests of m, first making p's main callable from scripts as a
// command named p.Name. It never returns.
func Main(m *testing.M, p Program) {
	// Under -race a program sleeps a second before it exits successfully,
	// so that the detector's other threads can report; ours reports as it
	// goes, and the tests start many programs (scripts get the same
	// setting in Run).
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	testscript.Main(m, map[string]func(){p.Name: p.Main})
}

// Run runs the scripts in testdata/<p.Dir>, then checks that every README
// session drawn from them shows what they check.
func Run(t *testing.T, p Program) {
	root := RepoRoot(t)
	// Scripts run in parallel inside this subtest, which returns only when
	// all of them have finished (and, with -update, rewritten their goldens).
	t.Run("scripts", func(t *testing.T) {
		testscript.Run(t, testscript.Params{
			Dir:                 filepath.Join(root, "testdata", filepath.FromSlash(p.Dir)),
			RequireExplicitExec: true,
			RequireUniqueNames:  true,
			UpdateScripts:       *update,
			Setup: func(env *testscript.Env) error {
				// Commands run from the repository root, as README tells readers to.
				env.Cd = root
				// Chapter 01 runs the go command, which needs the Go
				// environment that testscript leaves out.
				for _, name := range goEnv {
					if v, ok := os.LookupEnv(name); ok {
						env.Setenv(name, v)
					}
				}
				// No second of sleep at exit under -race: see Main.
				env.Setenv("GORACE", "atexit_sleep_ms=0")
				return nil
			},
			Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
				"exits": cmdExits,
			},
		})
	})
	t.Run("README", func(t *testing.T) {
		checkSessions(t, root, "testdata/"+p.Dir+"/")
	})
}

// goEnv lists the variables that the go command reads for its caches and
// module downloads.
var goEnv = []string{"HOME", "USERPROFILE", "LOCALAPPDATA", "XDG_CACHE_HOME", "GOCACHE", "GOMODCACHE",
	"GOPATH", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GOTOOLCHAIN", "GOROOT", "GOENV"}

// cmdExits implements `exits N command args...`: it runs the command like
// exec and fails unless the command's exit status is N.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want == 0 {
		ts.Fatalf("exits: %q is not a non-zero exit status (use exec for 0)", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	var exitErr interface{ ExitCode() int }
	switch {
	case err == nil:
		ts.Fatalf("%s exited with status 0, want %d", args[1], want)
	case !errors.As(err, &exitErr):
		ts.Fatalf("%s: %v", args[1], err)
	case exitErr.ExitCode() != want:
		ts.Fatalf("%s exited with status %d, want %d", args[1], exitErr.ExitCode(), want)
	}
}

// RepoRoot returns the repository root: the nearest directory above the
// test's working directory that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// checkSessions compares every README session whose script path starts with
// prefix with the session rendered from that script. With -update it rewrites
// the blocks that differ.
func checkSessions(t *testing.T, root, prefix string) {
	readme := filepath.Join(root, "README.md")
	if *update {
		unlock := lock(t, readme)
		defer unlock()
	}
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	blocks, err := ParseREADME(text)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	changed := text
	seen := 0
	// Walk backwards so that rewriting one block leaves the offsets of the
	// earlier ones valid.
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		if b.Kind != "session" || !strings.HasPrefix(b.Source, prefix) {
			continue
		}
		seen++
		want, err := RenderSession(filepath.Join(root, filepath.FromSlash(b.Source)))
		if err != nil {
			t.Errorf("README.md:%d: %v", b.Line, err)
			continue
		}
		if b.Body == want {
			continue
		}
		if *update {
			changed = changed[:b.Start] + want + changed[b.End:]
			continue
		}
		t.Errorf("README.md:%d: the session from %s differs from what the script checks (-README.md +script):\n%s",
			b.Line, b.Source, cmp.Diff(strings.Split(b.Body, "\n"), strings.Split(want, "\n")))
	}
	if seen == 0 {
		t.Logf("README.md shows no session from %s", prefix)
	}
	if *update && changed != text {
		if err := os.WriteFile(readme, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lock takes a lock on path for the packages whose tests run at the same time
// under `go test ./... -update`, and returns the function that frees it.
func lock(t *testing.T, path string) (unlock func()) {
	name := path + ".lock"
	deadline := time.Now().Add(30 * time.Second)
	for os.Mkdir(name, 0o755) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still locked after 30 s: remove it if no test is running", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() { os.Remove(name) }
}

// A Block is a fenced block of README.md that a test checks.
type Block struct {
	Kind       string // "session" or "quote"
	Source     string // the script or Go file it comes from, from the repository root
	Line       int    // the line of its opening fence, counting from 1
	Body       string // its text between the fences, ending in a newline
	Start, End int    // Body's offsets in the README text
}

// ParseREADME finds the blocks announced by a marker line, and fails on a
// console or go block without one: every transcript and every piece of Go
// code in the text is tested.
func ParseREADME(text string) ([]Block, error) {
	var blocks []Block
	lines := strings.SplitAfter(text, "\n")
	offset := 0
	var kind, source string // from the marker line just before a block
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\n")
		offset += len(lines[i])
		if k, s, ok := parseMarker(line); ok {
			kind, source = k, s
			continue
		}
		if !strings.HasPrefix(line, "```") {
			if strings.TrimSpace(line) != "" {
				kind = ""
			}
			continue
		}
		lang := strings.TrimPrefix(line, "```")
		fenceLine := i + 1
		// Find the closing fence.
		bodyStart := offset
		for i++; i < len(lines) && strings.TrimSuffix(lines[i], "\n") != "```"; i++ {
			offset += len(lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: the block is never closed", fenceLine)
		}
		bodyEnd := offset
		offset += len(lines[i])
		if kind == "" {
			if lang == "console" || lang == "go" {
				return nil, fmt.Errorf("line %d: a %s block needs a marker line before it (<!-- session: testdata/... --> or <!-- quote: file.go -->)", fenceLine, lang)
			}
			continue
		}
		want := map[string]string{"session": "console", "quote": "go"}[kind]
		if lang != want {
			return nil, fmt.Errorf("line %d: a %s marker must be followed by a ```%s block", fenceLine, kind, want)
		}
		blocks = append(blocks, Block{Kind: kind, Source: source, Line: fenceLine,
			Body: text[bodyStart:bodyEnd], Start: bodyStart, End: bodyEnd})
		kind = ""
	}
	return blocks, nil
}

// parseMarker recognizes `<!-- session: path -->` and `<!-- quote: path -->`.
func parseMarker(line string) (kind, source string, ok bool) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(line), "<!--")
	if !ok {
		return "", "", false
	}
	inner, ok = strings.CutSuffix(inner, "-->")
	if !ok {
		return "", "", false
	}
	kind, source, ok = strings.Cut(strings.TrimSpace(inner), ":")
	if !ok || (kind != "session" && kind != "quote") {
		return "", "", false
	}
	return kind, strings.TrimSpace(source), true
}

// RenderSession returns the console text that a README session drawn from the
// script at path must show: the command as a reader types it, its standard
// output, its standard error and the exit status line that `go run` prints.
func RenderSession(path string) (string, error) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		return "", err
	}
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = string(f.Data)
	}
	var command []string
	status := 0
	stdout, stderr := "", ""
	var sawStdout, sawStderr bool
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		words := strings.Fields(line)
		if len(words) == 0 || strings.HasPrefix(words[0], "#") {
			continue
		}
		switch {
		case words[0] == "exec" || words[0] == "exits":
			if command != nil {
				return "", fmt.Errorf("%s: a README session runs one command", path)
			}
			if words[0] == "exits" {
				if len(words) < 3 {
					return "", fmt.Errorf("%s: usage: exits N command [args...]", path)
				}
				status, _ = strconv.Atoi(words[1])
				words = words[1:]
			}
			command = words[1:]
		case words[0] == "cmp" && len(words) == 3 && (words[1] == "stdout" || words[1] == "stderr"):
			name := strings.TrimPrefix(words[2], "$WORK/")
			content, ok := files[name]
			if !ok {
				return "", fmt.Errorf("%s: %s is not in the script", path, name)
			}
			if words[1] == "stdout" {
				stdout, sawStdout = content, true
			} else {
				stderr, sawStderr = content, true
			}
		case strings.Join(words, " ") == "! stdout .":
			sawStdout = true
		case strings.Join(words, " ") == "! stderr .":
			sawStderr = true
		case words[0] == "stdin" || words[0] == "ttyin":
			return "", fmt.Errorf("%s: a README session cannot take %s: bash and PowerShell redirect input differently", path, words[0])
		}
	}
	if command == nil || !sawStdout || !sawStderr {
		return "", fmt.Errorf("%s: a README session needs one exec (or exits), and must check all of stdout and stderr", path)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "$ go run ./%s", programDir(path))
	for _, arg := range command[1:] {
		if strings.ContainsAny(arg, `'"$`) {
			return "", fmt.Errorf("%s: argument %s would need quoting that differs between shells", path, arg)
		}
		b.WriteString(" " + arg)
	}
	b.WriteString("\n" + stdout + stderr)
	if status != 0 {
		fmt.Fprintf(&b, "exit status %d\n", status)
	}
	return b.String(), nil
}

// programDir returns the program a script in testdata/<dir>/ runs: <dir>.
func programDir(script string) string {
	dir := filepath.ToSlash(filepath.Dir(script))
	_, after, _ := strings.Cut(dir, "/testdata/")
	return after
}
