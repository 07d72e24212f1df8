package doctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADME checks what no chapter's test checks: that every block of
// README.md that needs a source has one that exists, and that every quoted
// piece of Go stands in its file exactly as shown.
func TestREADME(t *testing.T) {
	root := RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := ParseREADME(strings.ReplaceAll(string(data), "\r\n", "\n"))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	for _, b := range blocks {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(b.Source)))
		if err != nil {
			t.Errorf("README.md:%d: %v", b.Line, err)
			continue
		}
		if b.Kind == "quote" && !strings.Contains(strings.ReplaceAll(string(src), "\r\n", "\n"), b.Body) {
			t.Errorf("README.md:%d: the Go code shown is not in %s as it stands there", b.Line, b.Source)
		}
	}
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
	}
	for _, tt := range tests {
		blocks, err := ParseREADME(tt.text)
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

func TestRenderSession(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "testdata", "02-threads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "bad.txtar")
	const text = "# comment\nexits 1 threads -workers 2 in.txt\ncmp stdout $WORK/out\ncmp stderr $WORK/err\n-- out --\nfib(1) = 1\n-- err --\nline 2: bad\n"
	if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := RenderSession(script)
	want := "$ go run ./02-threads -workers 2 in.txt\nfib(1) = 1\nline 2: bad\nexit status 1\n"
	if err != nil || got != want {
		t.Errorf("RenderSession = %q, %v; want %q", got, err, want)
	}
}
