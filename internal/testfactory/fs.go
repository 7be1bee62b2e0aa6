package testfactory

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

// CopyFS returns every file of fsys (an embedded one: templates and
// static files) as a MapFS the test can change, to show what a broken,
// missing or stray file does to the start-up checks of pages and web.
func CopyFS(t testing.TB, fsys fs.FS) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		m[name] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
