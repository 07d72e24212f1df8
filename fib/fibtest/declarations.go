package fibtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"testing"
)

// Declarations returns the source of each top-level declaration in file,
// with its doc comment, by name: what a test compares to hold a copy of
// code identical to the code it copies.
func Declarations(t testing.TB, file string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	text := func(doc *ast.CommentGroup, start, end token.Pos) string {
		if doc != nil {
			start = doc.Pos()
		}
		return string(src[fset.Position(start).Offset:fset.Position(end).Offset])
	}
	decls := map[string]string{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			decls[d.Name.Name] = text(d.Doc, d.Pos(), d.End())
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					decls[spec.Name.Name] = text(d.Doc, d.Pos(), d.End())
				case *ast.ValueSpec:
					for _, name := range spec.Names {
						decls[name.Name] = text(d.Doc, d.Pos(), d.End())
					}
				}
			}
		}
	}
	return decls
}
