// Package testbin builds the intake binary once per test process, for the
// black-box tests that run it as a user would.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Intake returns the path of a freshly built cmd/intake, building it on the
// first call; t fails when it cannot be built.
func Intake(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, e := os.MkdirTemp("", "intake-bin")
		if e != nil {
			err = e
			return
		}
		path = filepath.Join(dir, "intake")
		if out, e := exec.Command("go", "build", "-o", path, "github.com/intakehq/intake/cmd/intake").CombinedOutput(); e != nil {
			err = fmt.Errorf("go build: %v\n%s", e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Remove deletes the built binary; call it from TestMain after m.Run.
func Remove() {
	if path != "" {
		os.RemoveAll(filepath.Dir(path))
	}
}
