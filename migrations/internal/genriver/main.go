// Command genriver writes one goose migration per River schema version that
// the migrations folder does not have yet. Run it after upgrading River:
//
//	go generate ./migrations
package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/intakehq/intake/migrations"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		log.Fatal(err)
	}
	lastGoose := 0
	have := map[int]bool{}
	gooseVersion := regexp.MustCompile(`^(\d+)_`)
	riverVersion := regexp.MustCompile(`^\d+_river_(\d+)_`)
	for _, f := range files {
		base := filepath.Base(f)
		if m := gooseVersion.FindStringSubmatch(base); m != nil {
			n, _ := strconv.Atoi(m[1])
			lastGoose = max(lastGoose, n)
		}
		if m := riverVersion.FindStringSubmatch(base); m != nil {
			n, _ := strconv.Atoi(m[1])
			have[n] = true
		}
	}
	versions, err := migrations.RiverVersions()
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range versions {
		if have[v.Version] {
			continue
		}
		lastGoose++
		name := filepath.Join(dir, migrations.RiverFileName(lastGoose, v))
		if err := os.WriteFile(name, []byte(migrations.RiverFileBody(v)), 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Println("wrote", name)
	}
}
