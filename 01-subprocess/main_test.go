package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestPrintedStatementsAreExecuted checks that every statement section
// prints is the source text of the statement that follows the call, so the
// transcript cannot drift from the code.
func TestPrintedStatementsAreExecuted(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "main.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	calls := 0
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "section" {
			return true
		}
		calls++
		next := fset.Position(call.End()).Line // the line after the call, counting from 0
		for i, arg := range call.Args[2:] {
			lit, ok := arg.(*ast.BasicLit)
			if !ok {
				t.Errorf("main.go:%d: section's statements must be string literals", fset.Position(arg.Pos()).Line)
				return false
			}
			printed, _ := strconv.Unquote(lit.Value)
			if got := strings.TrimSpace(lines[next+i]); got != printed {
				t.Errorf("main.go:%d: section prints %q, but the statement there is %q", next+i+1, printed, got)
			}
		}
		return false
	})
	if calls != 7 {
		t.Errorf("found %d calls of section in main.go, want 7", calls)
	}
}

// BenchmarkRun compares the cost of one call of the fib program built once,
// as this chapter does, with `go run` on every call, which has the go
// command check its build cache each time.
func BenchmarkRun(b *testing.B) {
	fib, err := buildFib(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("binary", func(b *testing.B) {
		for b.Loop() {
			if _, err := exec.Command(fib, "25").Output(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-run", func(b *testing.B) {
		for b.Loop() {
			if _, err := exec.Command("go", "run", "example.com/goinparallel/01-subprocess/fib", "25").Output(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
