package fibtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DependOn reads every file at or below the given paths, skipping
// directories whose names start with a dot, such as .git. go test answers
// from its cache until a file that the test opened changes, and a test that
// runs a program through go build or go run opens none of that program's
// files: without this, an edited message would leave the test `(cached)`
// and passing.
func DependOn(t testing.TB, paths ...string) {
	t.Helper()
	for _, path := range paths {
		err := filepath.WalkDir(path, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && strings.HasPrefix(d.Name(), ".") && d.Name() != "." && d.Name() != "..":
				return filepath.SkipDir
			case d.IsDir():
				return nil
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
