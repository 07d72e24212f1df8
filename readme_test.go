// The test of the Markdown files and testdata/: it keeps the tutorial
// honest. The scripts in testdata/ replay the shell sessions of README.md
// and of each chapter's README.md, running the very commands they show (`go
// run ./02-threads testdata/mixed.txt`), and every Markdown file must show
// exactly what the scripts check, byte for byte.
//
// A shell session in a Markdown file is a fenced console block right after a line
//
//	<!-- session: testdata/02-threads/mixed.txtar -->
//
// and its text must be the script's one command, then its standard output,
// then its standard error, in which `go run` itself reports a failed
// program's exit status. Go code follows a line
// `<!-- quote: 01-subprocess/main.go -->` and must stand in that file as it
// is shown, apart from the leading tabs its lines have in common. Markers
// name files by their paths from the repository root, in every Markdown
// file.
//
// With `go test . -update`, the scripts' golden files and the Markdown sessions
// are rewritten from what the programs print: read the diff before you
// commit it.
package goinparallel_test

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/goinparallel/fib/fibtest"
	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestMain runs this package's tests four at a time, unless -parallel says
// otherwise. They spend their time waiting for the go command and the
// programs it runs, not computing: four keep two CPUs busy, and go test
// ./... prints its first line sooner.
func TestMain(m *testing.M) {
	flag.Parse()
	parallel := false
	flag.Visit(func(f *flag.Flag) { parallel = parallel || f.Name == "test.parallel" })
	if !parallel {
		flag.Set("test.parallel", strconv.Itoa(max(4, runtime.GOMAXPROCS(0))))
	}
	os.Exit(m.Run())
}

var update = flag.Bool("update", false, "rewrite golden files in testdata and sessions in the Markdown files from the programs' output")

// TestScripts runs every script in testdata/, from the repository root, as
// a reader runs the commands.
func TestScripts(t *testing.T) {
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// The scripts run the chapters' programs, and read their inputs in
	// testdata.
	fibtest.DependOn(t, "go.mod", "01-subprocess", "02-threads", "03-processes", "fib", "testdata")
	race := raceDetector(t)
	for _, dir := range scriptDirs(t) {
		t.Run(dir, func(t *testing.T) {
			t.Parallel() // Each script runs in a directory of its own.
			testscript.Run(t, testscript.Params{
				Dir:                 filepath.FromSlash(dir),
				RequireExplicitExec: true,
				RequireUniqueNames:  true,
				UpdateScripts:       *update,
				Setup: func(env *testscript.Env) error {
					// Commands run from the repository root, as README
					// tells readers to, with the Go environment that
					// testscript leaves out.
					env.Cd = root
					for _, name := range goEnv {
						if v, ok := os.LookupEnv(name); ok {
							env.Setenv(name, v)
						}
					}
					return nil
				},
				Condition: func(cond string) (bool, error) {
					if cond == "race" {
						return race(), nil
					}
					return false, fmt.Errorf("unknown condition %q", cond)
				},
				Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
					"cmprace": cmdCmpRace,
				},
			})
		})
	}
}

// goEnv lists the variables that the go command reads for its caches,
// module downloads and toolchain.
var goEnv = []string{"HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "XDG_CACHE_HOME", "GOCACHE", "GOMODCACHE",
	"GOPATH", "GOFLAGS", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOTOOLCHAIN", "GOROOT", "GOENV", "CGO_ENABLED", "CC"}

// scriptDirs returns the directories under testdata that hold scripts.
func scriptDirs(t *testing.T) []string {
	var dirs []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".txtar") {
			dir := filepath.ToSlash(filepath.Dir(path))
			if !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// raceDetector returns a function that reports whether `go run -race` works
// here. It needs cgo, and so a C compiler: Linux and macOS usually have one,
// Windows often does not. The answer comes from trying, once.
func raceDetector(t *testing.T) func() bool {
	return sync.OnceValue(func() bool {
		exe := filepath.Join(t.TempDir(), "race-check")
		// Without -buildvcs=false, a checkout that belongs to another user
		// would fail the build for a reason that is not the detector's.
		return exec.Command("go", "build", "-buildvcs=false", "-race", "-o", exe, "./02-threads/race").Run() == nil
	})
}

// raceNoise matches what changes from run to run and machine to machine in a
// race detector's report: addresses, goroutine numbers, whether the
// goroutine that wrote before is still running, and the directory the
// repository is in. The directory is anything before the chapter's
// directory on a line of a stack, spaces and any letters included: a
// reader's checkout can be "/home/Zoë/My Projects/go-in-parallel".
var raceNoise = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`0x[0-9a-f]+`), "0x?"},
	{regexp.MustCompile(`goroutine \d+`), "goroutine N"},
	{regexp.MustCompile(`Goroutine \d+ \((?:running|finished)\)`), "Goroutine N (running or finished)"},
	{regexp.MustCompile(`(?m)^(\s+)[^\n]*/(0\d-[a-z]+/(?:[^/\n]+/)*[^/\n]+\.go:\d+)`), "${1}.../$2"},
}

func normaliseRace(s string) string {
	for _, n := range raceNoise {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// raceReport matches one report of the race detector, from its opening line
// of equals signs to its closing one.
var raceReport = regexp.MustCompile(`(?s)==================\nWARNING: DATA RACE\n.*?\n==================\n`)

// raceFound matches the detector's count of reports, printed as the program
// exits.
var raceFound = regexp.MustCompile(`(?m)^Found (\d+) data race\(s\)$`)

// firstRace returns a race detector's output with only its first report:
// the detector reports each pair of places in the source once, and should
// a run find a second pair, the first report is still the one the text
// explains. The count at the end must agree with the reports printed, and is
// rewritten to one.
func firstRace(s string) (string, error) {
	reports := raceReport.FindAllStringIndex(s, -1)
	if len(reports) == 0 {
		return "", fmt.Errorf("no race report")
	}
	found := raceFound.FindStringSubmatchIndex(s)
	if found == nil {
		return "", fmt.Errorf("no line \"Found N data race(s)\"")
	}
	if n := s[found[2]:found[3]]; n != strconv.Itoa(len(reports)) {
		return "", fmt.Errorf("the detector says it found %s data race(s), and printed %d reports", n, len(reports))
	}
	first, last := reports[0], reports[len(reports)-1]
	return s[:first[1]] + s[last[1]:found[2]] + "1" + s[found[3]:], nil
}

// compareRace compares a race detector's output with the one wanted: their
// first reports, addresses, goroutine numbers and directories aside (see
// raceNoise and firstRace), and all that is printed around the reports. It
// returns "" if they agree, and otherwise says how they differ.
func compareRace(got, want string) string {
	got, err := firstRace(got)
	if err != nil {
		return err.Error()
	}
	if want, err = firstRace(want); err != nil {
		return "the golden file: " + err.Error()
	}
	got, want = normaliseRace(got), normaliseRace(want)
	if got == want {
		return ""
	}
	return "(-want +got):\n" + cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n"))
}

// cmdCmpRace implements `cmprace stderr file`: like cmp, but it compares
// only the first report of the race detector, and is blind to what changes
// between runs of a report (see compareRace).
func cmdCmpRace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || args[0] != "stderr" {
		ts.Fatalf("usage: cmprace stderr file")
	}
	if diff := compareRace(ts.ReadFile("stderr"), ts.ReadFile(args[1])); diff != "" {
		ts.Fatalf("the race report differs from %s, addresses, goroutine numbers and directories aside, in its first report: %s", args[1], diff)
	}
}

// TestREADME checks every marked block of every Markdown file in the
// repository, README.md and each chapter's README.md alike: a session
// against the script it comes from, a quote against its Go file. It also
// holds every line of a fenced block to maxColumns. With -update, it
// rewrites the sessions that differ.
func TestREADME(t *testing.T) {
	files := markdownFiles(t)
	if !slices.Contains(files, "README.md") {
		t.Fatalf("README.md not found among the Markdown files %v", files)
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) { checkMarkdown(t, name) })
	}
}

// codeLines finds where a Markdown file says how many lines of code a Go
// file has, with the command that counts them.
var codeLines = regexp.MustCompile("(\\d+)\\s+lines\\s+of\\s+code,\\s+comments\\s+and\\s+blank\\s+lines\\s+aside\\s+\\(`grep -cvE '\\^\\\\s\\*\\(//\\|\\$\\)' ([^`]+)`\\)")

// TestCodeLines holds true what README.md says of the size of a program:
// the lines of a Go file that are neither comments nor blank, which its
// grep command counts.
func TestCodeLines(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	claims := codeLines.FindAllStringSubmatch(string(readme), -1)
	if len(claims) == 0 {
		t.Fatal("README.md no longer says how many lines of code the first pool has: this test or README is out of date")
	}
	blankOrComment := regexp.MustCompile(`^\s*(//|$)`)
	for _, claim := range claims {
		src, err := os.ReadFile(claim[2])
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for line := range strings.Lines(strings.ReplaceAll(string(src), "\r\n", "\n")) {
			if !blankOrComment.MatchString(strings.TrimSuffix(line, "\n")) {
				n++
			}
		}
		if strconv.Itoa(n) != claim[1] {
			t.Errorf("README.md: %s has %d lines of code, comments and blank lines aside, not %s", claim[2], n, claim[1])
		}
	}
}

// markdownFiles returns the Markdown files of the repository, with paths
// from its root in slash form. Like the go command, it skips directories
// whose names start with "." or "_", and testdata.
func markdownFiles(t *testing.T) []string {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".md") {
			files = append(files, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestLinks checks every relative link of every Markdown file: its file or
// directory must exist, and a #fragment that points into a Markdown file
// must name one of that file's headings, as GitHub makes anchors of them.
// Links with a scheme (https:, mailto:) are left alone: the test does not
// use the network. Code, fenced or inline, holds no links.
func TestLinks(t *testing.T) {
	anchors := map[string]map[string]bool{} // by Markdown file, from the repository root
	for _, name := range markdownFiles(t) {
		text, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		anchors[name] = markdownAnchors(string(text))
	}
	scheme := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	for name := range anchors {
		text, _ := os.ReadFile(filepath.FromSlash(name))
		for _, l := range markdownLinks(string(text)) {
			if scheme.MatchString(l.target) {
				continue
			}
			target, fragment, _ := strings.Cut(l.target, "#")
			path, err := url.PathUnescape(target)
			if err != nil {
				t.Errorf("%s:%d: link %s: %v", name, l.line, l.target, err)
				continue
			}
			switch {
			case path == "":
				path = name // A fragment alone points into this file.
			case strings.HasPrefix(path, "/"):
				path = strings.TrimPrefix(path, "/") // GitHub reads /x from the repository root.
			default:
				path = filepath.ToSlash(filepath.Join(filepath.Dir(name), path))
			}
			if _, err := os.Stat(filepath.FromSlash(path)); err != nil {
				t.Errorf("%s:%d: link %s points to nothing: %v", name, l.line, l.target, err)
				continue
			}
			if own, ok := anchors[path]; ok && fragment != "" && !own[fragment] {
				t.Errorf("%s:%d: link %s points to no heading of %s", name, l.line, l.target, path)
			}
		}
	}
}

// A markdownLink is the target of a link or image in a Markdown file, and
// the line it is on, counting from 1.
type markdownLink struct {
	target string
	line   int
}

// markdownLinks returns the targets of the inline links and images of a
// Markdown text, [text](target "title"), and of its link definitions,
// [label]: target. Code, fenced or in backticks, is skipped.
func markdownLinks(text string) []markdownLink {
	inline := regexp.MustCompile(`\]\(<?([^()<>\s]+)>?(?:\s+"[^"]*")?\)`)
	definition := regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?([^\s<>]+)>?`)
	codeSpan := regexp.MustCompile("``.*?``|`[^`]*`")
	var links []markdownLink
	for i, line := range outsideFences(text) {
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inline.FindAllStringSubmatch(line, -1) {
			links = append(links, markdownLink{m[1], i + 1})
		}
		if m := definition.FindStringSubmatch(line); m != nil {
			links = append(links, markdownLink{m[1], i + 1})
		}
	}
	return links
}

// markdownAnchors returns the anchors GitHub gives the headings of a
// Markdown text: the heading's text, without its markup, in lower case,
// with every character but letters, digits, underscores, hyphens and
// spaces removed and each space made a hyphen; a second heading of the
// same anchor gets -1, a third -2.
func markdownAnchors(text string) map[string]bool {
	heading := regexp.MustCompile(`^#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	link := regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	removed := regexp.MustCompile(`[^\p{L}\p{M}\p{N}\p{Pc} -]`)
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range outsideFences(text) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		anchor := link.ReplaceAllString(m[1], "$1") // A link shows only its text.
		anchor = removed.ReplaceAllString(strings.ToLower(anchor), "")
		anchor = strings.ReplaceAll(anchor, " ", "-")
		if n := seen[anchor]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", anchor, n)] = true
		} else {
			anchors[anchor] = true
		}
		seen[anchor]++
	}
	return anchors
}

// outsideFences returns the lines of a Markdown text, with those of fenced
// code blocks, fences included, made empty, so that the others keep their
// line numbers.
func outsideFences(text string) []string {
	lines := strings.Split(text, "\n")
	fence := "" // the fence of the block we are in, if any
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
		case fence != "" && strings.HasPrefix(trimmed, fence):
			fence = ""
		case fence == "":
			continue
		}
		lines[i] = ""
	}
	return lines
}

// maxColumns is the widest line a fenced block may have, a tab counting as
// 8 columns, so that no reader has to scroll sideways.
const maxColumns = 100

// checkMarkdown checks the marked blocks of one Markdown file, named by its
// path from the repository root. Markers name their sources by paths from
// the repository root too, wherever the Markdown file is.
func checkMarkdown(t *testing.T, name string) {
	data, err := os.ReadFile(filepath.FromSlash(name))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	for _, w := range wideLines(text) {
		t.Errorf("%s:%d: a line of a code block is %d columns wide, more than %d", name, w.line, w.columns, maxColumns)
	}
	blocks, err := parseREADME(text)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	changed := text
	// Walk backwards, so that rewriting a block leaves the offsets of the
	// earlier ones valid.
	for _, b := range slices.Backward(blocks) {
		src, err := os.ReadFile(filepath.FromSlash(b.source))
		if err != nil {
			t.Errorf("%s:%d: %v", name, b.line, err)
			continue
		}
		if b.kind == "quote" {
			if diff := quoteDiff(b.body, strings.ReplaceAll(string(src), "\r\n", "\n")); diff != "" {
				t.Errorf("%s:%d: %s", name, b.line, diff)
			}
			continue
		}
		want, err := renderSession(b.source, src)
		switch {
		case err != nil:
			t.Errorf("%s:%d: %v", name, b.line, err)
		case b.body == want:
		case *update:
			changed = changed[:b.start] + want + changed[b.end:]
		default:
			t.Errorf("%s:%d: the session differs from what %s checks (-%s +script):\n%s",
				name, b.line, b.source, name, cmp.Diff(strings.Split(b.body, "\n"), strings.Split(want, "\n")))
		}
	}
	if *update && changed != text {
		if err := os.WriteFile(filepath.FromSlash(name), []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// quoteDiff returns "" when the Go code of a quote stands in src as it is
// shown, once the lines of src are stripped of the leading tabs they have in
// common: a quote from inside a function is shown without its indentation,
// and must be, so that it reads from the left margin. Otherwise it says what
// is wrong, with a diff against the lines of src that come closest.
func quoteDiff(quote, src string) string {
	shown := strings.Split(strings.TrimSuffix(quote, "\n"), "\n")
	if dedent(shown)[0] != shown[0] {
		return "the quote keeps the indentation its lines have in the source: show it without"
	}
	lines := strings.Split(src, "\n")
	var closest []string
	best := -1
	for i := 0; i+len(shown) <= len(lines); i++ {
		window := dedent(lines[i : i+len(shown)])
		same := 0
		for j := range window {
			if window[j] == shown[j] {
				same++
			}
		}
		if same == len(shown) {
			return ""
		}
		if same > best {
			best, closest = same, window
		}
	}
	if closest == nil {
		return "the Go code shown is longer than the file it quotes"
	}
	return fmt.Sprintf("the Go code shown is not in the file as it stands there, indentation aside (-shown +file):\n%s",
		cmp.Diff(shown, closest))
}

// dedent returns lines without the leading tabs that all its lines that are
// not blank have in common.
func dedent(lines []string) []string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		tabs := len(l) - len(strings.TrimLeft(l, "\t"))
		if common < 0 || tabs < common {
			common = tabs
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= common && common > 0 {
			l = l[common:]
		}
		out[i] = l
	}
	return out
}

// A wideLine is a line of a fenced block wider than maxColumns.
type wideLine struct{ line, columns int }

// wideLines finds the lines of fenced blocks wider than maxColumns.
func wideLines(text string) []wideLine {
	var wide []wideLine
	inBlock := false
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			continue
		}
		columns := 0
		for _, r := range line {
			if r == '\t' {
				columns += 8 - columns%8
			} else {
				columns++
			}
		}
		if columns > maxColumns {
			wide = append(wide, wideLine{i + 1, columns})
		}
	}
	return wide
}

// A block is a fenced block of a Markdown file that TestREADME checks.
type block struct {
	kind       string // "session" or "quote"
	source     string // the script or Go file it comes from
	line       int    // the line of its opening fence, counting from 1
	body       string // its text between the fences, ending in a newline
	start, end int    // body's offsets in the Markdown text
}

// parseREADME finds the blocks announced by a marker line, and fails on a
// console or go block without one: every transcript and every piece of Go
// code in the text is tested.
func parseREADME(text string) ([]block, error) {
	var blocks []block
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
		if want := map[string]string{"session": "console", "quote": "go"}[kind]; lang != want {
			return nil, fmt.Errorf("line %d: a %s marker must be followed by a ```%s block", fenceLine, kind, want)
		}
		blocks = append(blocks, block{kind: kind, source: source, line: fenceLine,
			body: text[bodyStart:bodyEnd], start: bodyStart, end: bodyEnd})
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

// renderSession returns the console text that a README session drawn from
// the script must show: `$ ` and the command, as the script runs it, then
// its standard output and its standard error.
func renderSession(path string, script []byte) (string, error) {
	ar := txtar.Parse(script)
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = string(f.Data)
	}
	var command []string
	var stdout, stderr *string
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		words := strings.Fields(line)
		if len(words) > 0 && words[0] == "[!windows]" {
			words = words[1:] // README shows what Linux and macOS print.
		}
		if len(words) > 0 && words[0] == "!" {
			words = words[1:]
		}
		if len(words) == 0 || strings.HasPrefix(words[0], "#") || strings.HasPrefix(words[0], "[") {
			continue
		}
		switch {
		case words[0] == "exec":
			if command != nil {
				return "", fmt.Errorf("%s: a README session runs one command", path)
			}
			command = words[1:]
		case (words[0] == "cmp" || words[0] == "cmprace") && len(words) == 3:
			content, ok := files[strings.TrimPrefix(words[2], "$WORK/")]
			if !ok {
				return "", fmt.Errorf("%s: %s is not in the script", path, words[2])
			}
			switch words[1] {
			case "stdout":
				stdout = &content
			case "stderr":
				stderr = &content
			}
		case words[0] == "stdout" && line == "! stdout .":
			stdout = new(string)
		case words[0] == "stderr" && line == "! stderr .":
			stderr = new(string)
		case words[0] == "stdin":
			return "", fmt.Errorf("%s: a README session cannot take stdin: bash and PowerShell redirect input differently", path)
		}
	}
	if len(command) < 2 || command[0] != "go" || command[1] != "run" || stdout == nil || stderr == nil {
		return "", fmt.Errorf("%s: a README session needs one `exec go run`, and must check all of stdout and stderr", path)
	}
	for _, arg := range command {
		if strings.ContainsAny(arg, `'"$`) {
			return "", fmt.Errorf("%s: argument %s would need quoting that differs between shells", path, arg)
		}
	}
	return "$ " + strings.Join(command, " ") + "\n" + *stdout + *stderr, nil
}

func TestParseREADME(t *testing.T) {
	tests := []struct {
		name, text, wantErr string
		wantBlocks          int
	}{
		{"marked session", "<!-- session: testdata/x/y.txtar -->\n```console\n$ go run ./x\n```\n", "", 1},
		{"marked quote", "<!-- quote: x/main.go -->\n```go\nfunc main() {}\n```\n", "", 1},
		{"unmarked prose block", "```shell\ngo test ./...\n```\n", "", 0},
		{"unmarked session", "text\n```console\n$ go run ./x\n```\n", "line 2: a console block needs a marker line before it", 0},
		{"marker too far away", "<!-- session: a.txtar -->\nprose\n```console\n$ x\n```\n", "line 3: a console block needs a marker line before it", 0},
		{"wrong language", "<!-- quote: x.go -->\n```console\n$ x\n```\n", "line 2: a quote marker must be followed by a ```go block", 0},
		{"unclosed", "<!-- quote: x.go -->\n```go\nx\n", "line 2: the block is never closed", 0},
		{"another kind of marker", "<!-- note: x.txtar -->\n```console\n$ x\n```\n", "line 2: a console block needs a marker line before it", 0},
	}
	for _, tt := range tests {
		blocks, err := parseREADME(tt.text)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one starting %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case len(blocks) != tt.wantBlocks:
			t.Errorf("%s: %d blocks, want %d", tt.name, len(blocks), tt.wantBlocks)
		}
	}
}

func TestQuoteDiff(t *testing.T) {
	src := "func f() {\n\tif ok {\n\t\tg()\n\n\t\th()\n\t}\n}\n"
	tests := []struct {
		name, quote, wantPrefix string
	}{
		{"a whole function", "func f() {\n\tif ok {\n\t\tg()\n\n\t\th()\n\t}\n}\n", ""},
		{"lines from inside, indented as in the file", "\t\tg()\n\n\t\th()\n", "the quote keeps the indentation"},
		{"lines from inside, without their indentation", "g()\n\nh()\n", ""},
		{"one character changed", "g()\n\nj()\n", "the Go code shown is not in the file as it stands there, indentation aside (-shown +file):\n"},
		{"a later line changed", "if ok {\n\tg()\n\n\tj()\n", "the Go code shown is not in the file"},
		{"lines out of order", "h()\n\ng()\n", "the Go code shown is not in the file"},
		{"longer than the file", strings.Repeat("g()\n", 20), "the Go code shown is longer than the file it quotes"},
	}
	for _, tt := range tests {
		got := quoteDiff(tt.quote, src)
		if !strings.HasPrefix(got, tt.wantPrefix) || (tt.wantPrefix == "") != (got == "") {
			t.Errorf("%s: quoteDiff = %q, want %q", tt.name, got, tt.wantPrefix)
		}
	}
}

func TestWideLines(t *testing.T) {
	text := "prose " + strings.Repeat("x", 120) + "\n```go\n" + strings.Repeat("y", 100) + "\n\t" +
		strings.Repeat("z", 93) + "\n```\n"
	want := []wideLine{{4, 101}}
	if got := wideLines(text); !slices.Equal(got, want) {
		t.Errorf("wideLines = %v, want %v", got, want)
	}
}

func TestRenderSession(t *testing.T) {
	tests := []struct {
		name, script, want, wantErr string
	}{
		{
			name:   "a failing program",
			script: "# comment\n! exec go run ./02-threads -workers 2 in.txt\ncmp stdout $WORK/out\ncmp stderr $WORK/err\n-- out --\nfib(1) = 1\n-- err --\nline 2: bad\nexit status 1\n",
			want:   "$ go run ./02-threads -workers 2 in.txt\nfib(1) = 1\nline 2: bad\nexit status 1\n",
		},
		{
			name:   "nothing on stderr",
			script: "[!race] skip\nexec go run ./x\ncmp stdout $WORK/out\n! stderr .\n-- out --\nok\n",
			want:   "$ go run ./x\nok\n",
		},
		{
			name:   "a golden for each system",
			script: "exec go run ./x\n[!windows] cmp stdout $WORK/unix\n[windows] cmp stdout $WORK/windows\n! stderr .\n-- unix --\nsignal: killed\n-- windows --\nexit status 1\n",
			want:   "$ go run ./x\nsignal: killed\n",
		},
		{
			name:    "stderr not checked",
			script:  "exec go run ./x\ncmp stdout $WORK/out\n-- out --\nok\n",
			wantErr: "t.txtar: a README session needs one `exec go run`, and must check all of stdout and stderr",
		},
		{
			name:    "two commands",
			script:  "exec go run ./x\nexec go run ./y\n",
			wantErr: "t.txtar: a README session runs one command",
		},
		{
			name:    "an argument that shells expand differently",
			script:  "exec go run ./x $WORK/in\ncmp stdout $WORK/out\n! stderr .\n-- out --\nok\n",
			wantErr: "t.txtar: argument $WORK/in would need quoting that differs between shells",
		},
		{
			name:    "input that shells redirect differently",
			script:  "stdin $WORK/in\nexec go run ./x\n",
			wantErr: "t.txtar: a README session cannot take stdin: bash and PowerShell redirect input differently",
		},
	}
	for _, tt := range tests {
		got, err := renderSession("t.txtar", []byte(tt.script))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("%s: renderSession = %q, %q; want %q, %q", tt.name, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

func TestNormaliseRace(t *testing.T) {
	tests := []struct{ name, dir string }{
		{"a plain directory", "/home/me/go-in-parallel"},
		{"spaces and letters beyond ASCII", "/home/Zoë/My Projects/dir é x/repo"},
		{"a chapter's name in the directory", "/home/me/01-subprocess/go-in-parallel"},
		{"Windows", "C:/Users/Zoë/go in parallel"},
	}
	want := "Read at 0x? by goroutine N:\n  main.unsynchronised.func1()\n      .../02-threads/race/main.go:42 +0x?\nGoroutine N (running or finished) created at:\n"
	for _, tt := range tests {
		report := "Read at 0x00c0000180f8 by goroutine 9:\n  main.unsynchronised.func1()\n      " + tt.dir + "/02-threads/race/main.go:42 +0xaf\nGoroutine 8 (finished) created at:\n"
		if got := normaliseRace(report); got != want {
			t.Errorf("%s: normaliseRace:\n%s\nwant\n%s", tt.name, got, want)
		}
	}
}

func TestCompareRace(t *testing.T) {
	report := func(dir, op, prev string) string {
		return "==================\nWARNING: DATA RACE\n" + op + " at 0x00c000094028 by goroutine 9:\n  main.unsynchronised.func1()\n      " +
			dir + "/02-threads/race/main.go:42 +0xaf\n\nPrevious " + prev + " at 0x00c000094028 by goroutine 8:\n==================\n"
	}
	want := report("/home/you/go-in-parallel", "Read", "write") + "Found 1 data race(s)\nexit status 66\n"
	here := "/tmp/dir é x/repo"
	tests := []struct{ name, got, wantErr string }{
		{"the same report elsewhere", report(here, "Read", "write") + "Found 1 data race(s)\nexit status 66\n", ""},
		{"a second report when turns overlap", report(here, "Read", "write") + report(here, "Write", "write") + "Found 2 data race(s)\nexit status 66\n", ""},
		{"another first report", report(here, "Write", "write") + report(here, "Read", "write") + "Found 2 data race(s)\nexit status 66\n", "(-want +got)"},
		{"a count that disagrees", report(here, "Read", "write") + "Found 2 data race(s)\nexit status 66\n", "the detector says it found 2 data race(s), and printed 1 reports"},
		{"another exit status", report(here, "Read", "write") + "Found 1 data race(s)\nexit status 1\n", "(-want +got)"},
		{"no report", "exit status 66\n", "no race report"},
	}
	for _, tt := range tests {
		if got := compareRace(tt.got, want); !strings.HasPrefix(got, tt.wantErr) || (tt.wantErr == "") != (got == "") {
			t.Errorf("%s: compareRace = %q, want one starting %q", tt.name, got, tt.wantErr)
		}
	}
}

// TestLostOutput runs each program as README does, with a standard output
// that cannot be written: a file open only for reading, on which every write
// fails, and on Linux /dev/full, a disk that is always full. Each must
// say so in one line that names what failed, and exit with status 1, which
// go run reports in a line of its own.
func TestLostOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every program")
	}
	programs := []struct {
		name string
		args []string
		what string // what it was writing
	}{
		{"fib", []string{"./01-subprocess/fib", "25"}, "the result"},
		{"subprocess", []string{"./01-subprocess"}, "the report"},
		{"threads", []string{"./02-threads", "testdata/numbers.txt"}, "results"},
		{"processes", []string{"./03-processes", "testdata/numbers.txt"}, "results"},
	}
	fibtest.DependOn(t, "go.mod", "01-subprocess", "02-threads", "03-processes", "fib", "testdata")
	readOnly := filepath.Join(t.TempDir(), "read-only")
	if err := os.WriteFile(readOnly, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	outputs := []string{readOnly}
	if runtime.GOOS == "linux" {
		outputs = append(outputs, "/dev/full")
	}
	for _, output := range outputs {
		for _, p := range programs {
			t.Run(p.name+" to "+filepath.Base(output), func(t *testing.T) {
				t.Parallel()
				stdout, err := os.Open(output) // for reading only: every write fails
				if output == "/dev/full" {
					stdout, err = os.OpenFile(output, os.O_WRONLY, 0)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer stdout.Close()
				cmd := exec.Command("go", append([]string{"run"}, p.args...)...)
				cmd.Stdout = stdout
				var stderr strings.Builder
				cmd.Stderr = &stderr
				cmd.Run()
				want := regexp.MustCompile("^" + p.name + ": writing " + p.what + ": [^\n]+\nexit status 1\n$")
				if !want.MatchString(stderr.String()) || cmd.ProcessState.ExitCode() != 1 {
					t.Errorf("exit status %d, stderr:\n%s\nwant status 1 and stderr matching %s",
						cmd.ProcessState.ExitCode(), stderr.String(), want)
				}
			})
		}
	}
}

// An exercise is a change that a "Try it" of README.md asks the reader to
// make to a chapter, and the failure that README says go test then shows.
type exercise struct {
	file, old, new string   // the change: old, once in file, becomes new
	pkg, test      string   // the package and the test that catch it
	args           []string // for the test binary
	says           string   // what README says the test prints
	notSays        string   // what the test must not print, if anything
}

var exercises = []exercise{
	{
		file: "01-subprocess/main.go", old: "go func() {", new: "func() {",
		pkg: "01-subprocess", test: "TestCommunicateWithAnEcho",
		// A hang is what the test shows, and the change makes it certain: a
		// tenth of a second is enough to see it.
		args: []string{"-echo-patience=100ms"},
		says: "it waits for the child to read its input while the child waits for it to read the output",
	},
	{
		file: "02-threads/main.go", old: "future := make(chan result, 1)", new: "future := make(chan result)",
		pkg: "02-threads", test: "TestWorkersDoNotWaitForThePrinter",
		says: "the workers wait for the printer to take their results",
		// README says the output is still right: the test's check of it
		// must not fail.
		notSays: "pool: ok=",
	},
}

// TestExercises makes each change that README's exercises ask for, in a
// copy of the module, and runs the test that README names: it must fail,
// and say what README says it says. README must quote the change, the
// test and the message, so that an edit to either shows here.
func TestExercises(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on changed copies of the chapters")
	}
	readme := oneLine(t, "README.md")
	for _, ex := range exercises {
		t.Run(ex.test, func(t *testing.T) {
			t.Parallel()
			for _, quoted := range []string{ex.file, ex.old, ex.new, ex.test, ex.says} {
				if !strings.Contains(readme, "`"+quoted+"`") {
					t.Errorf("README.md does not quote `%s`, which its exercise for %s needs", quoted, ex.test)
				}
			}
			dir := t.TempDir()
			for _, path := range []string{"go.mod", "go.sum", "fib", "testdata", ex.pkg} {
				copyTree(t, path, filepath.Join(dir, path))
			}
			src, err := os.ReadFile(filepath.Join(dir, ex.file))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(src), ex.old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: the exercise no longer fits the code", ex.file, ex.old, n)
			}
			changed := strings.Replace(string(src), ex.old, ex.new, 1)
			if err := os.WriteFile(filepath.Join(dir, ex.file), []byte(changed), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := goTest(t, dir, "./"+ex.pkg, ex.test, ex.args...)
			switch flat := strings.Join(strings.Fields(out), " "); {
			case err == nil:
				t.Errorf("with %q in %s, %s passes; README says it fails:\n%s", ex.new, ex.file, ex.test, out)
			case !strings.Contains(flat, ex.says):
				t.Errorf("with %q in %s, %s fails without saying %q, as README says it does:\n%s", ex.new, ex.file, ex.test, ex.says, out)
			case ex.notSays != "" && strings.Contains(flat, ex.notSays):
				t.Errorf("with %q in %s, %s says %q, which README says it does not:\n%s", ex.new, ex.file, ex.test, ex.notSays, out)
			}
		})
	}
}

// TestYourStepExercise checks what README's exercise in chapter 03 says of
// TestYourStep: it fails on a copy of the first pool, showing a line the
// first pool lost, and passes on retry, the step the reader is asked to
// write. It runs on Linux, where TestYourStep does.
func TestYourStepExercise(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("runs chapter 03's TestYourStep, on Linux")
	}
	t.Parallel()
	const command = "go test -run TestYourStep ./03-processes/batched -step 03-processes/mine"
	const lost = "line 1: fib(40) not computed: the worker process died"
	// What retry says, which TestYourStep wants, and passes on retry.
	const retried = "processes: line 1: the worker computing fib(40) died (signal: killed); trying a new worker"
	readme := oneLine(t, "README.md")
	for _, quoted := range []string{command, lost, retried} {
		if !strings.Contains(readme, "`"+quoted+"`") {
			t.Errorf("README.md does not quote `%s`", quoted)
		}
	}
	if out, err := goTest(t, ".", "./03-processes/batched", "TestYourStep", "-step", "03-processes"); err == nil || !strings.Contains(out, lost) {
		t.Errorf("TestYourStep on the first pool: %v; want it to fail and show %q:\n%s", err, lost, out)
	}
	if out, err := goTest(t, ".", "./03-processes/batched", "TestYourStep", "-step", "03-processes/retry"); err != nil {
		t.Errorf("TestYourStep on retry: %v:\n%s", err, out)
	}
}

// oneLine returns the text of a file with every run of spaces and line
// breaks made one space, as Markdown reads it.
func oneLine(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(data)), " ")
}

// copyTree copies the file or directory tree at src to dst.
func copyTree(t *testing.T, src, dst string) {
	info, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if info.IsDir() {
		err = os.CopyFS(dst, os.DirFS(src))
	} else {
		var data []byte
		if data, err = os.ReadFile(src); err == nil {
			err = os.WriteFile(dst, data, 0o644)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// goTest runs go test -run test on pkg in the module at dir, with args
// for the test binary, and returns what it printed. go test's own -timeout
// bounds the test, and a context bounds the go command, so that a hang
// fails this test rather than the package.
func goTest(t *testing.T, dir, pkg, test string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1", "-timeout=2m", "-run=^" + test + "$", pkg}, args...)...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("go test -run %s %s has not ended after 3 minutes:\n%s", test, pkg, out)
	}
	return string(out), err
}
