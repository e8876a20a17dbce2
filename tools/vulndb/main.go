// Command vulndb turns a directory of OSV entries, as golang.org/x/vulndb
// ships them in data/osv, into a Go vulnerability database in the v1
// layout that govulncheck reads with -db file:///DIR:
//
//	index/db.json       {"modified": T}
//	index/modules.json  [{"path": P, "vulns": [{"id": ID, "modified": T}]}]
//	index/vulns.json    [{"id": ID, "modified": T, "aliases": [...]}]
//	ID/<ID>.json        the entry, byte for byte
//
// The .json.gz twins that an HTTP server of the database also serves are
// not written: a file:// database is read uncompressed.
//
// Usage: vulndb -osv DIR -out DIR [-modified TIME]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry holds the fields of an OSV entry that the indexes need.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type dbMeta struct {
	Modified time.Time `json:"modified"`
}

// moduleVuln leaves out the optional "fixed": without it govulncheck reads
// every entry of a module and matches the version against the entry's own
// ranges, so no comparison here can hide an entry. The cost is reading
// some hundred more small local files.
type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

func main() {
	osvDir := flag.String("osv", "", "directory of OSV entries, one <ID>.json each")
	out := flag.String("out", "", "directory to write the database to (replaced)")
	modified := flag.String("modified", "", "time of the data (RFC 3339), when later than the entries' own")
	flag.Parse()
	if *osvDir == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var since time.Time
	if *modified != "" {
		t, err := time.Parse(time.RFC3339, *modified)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vulndb: -modified:", err)
			os.Exit(2)
		}
		since = t
	}
	n, err := generate(*osvDir, *out, since)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
	fmt.Printf("vulndb: %d entries from %s into %s\n", n, *osvDir, *out)
}

// generate writes the database into a fresh directory beside out and then
// renames it to out, so that an interrupted run never leaves a partial
// database where a cache would take it for a whole one. index/db.json's
// time is the newest of the entries' and modified: x/vulndb's data/osv
// leaves each entry's zero (its publisher sets them from the repository's
// history), so there the time of the data is its commit's.
func generate(osvDir, out string, modified time.Time) (int, error) {
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(parent, ".vulndb-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	n, err := write(osvDir, tmp, modified)
	if err != nil {
		return 0, err
	}
	// MkdirTemp makes it 0700; the database is for every user.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	if err := os.RemoveAll(out); err != nil {
		return 0, err
	}
	return n, os.Rename(tmp, out)
}

func write(osvDir, dst string, modified time.Time) (int, error) {
	files, err := os.ReadDir(osvDir)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(dst, "ID"), 0o755); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(dst, "index"), 0o755); err != nil {
		return 0, err
	}
	var (
		meta    = dbMeta{Modified: modified.UTC()}
		modules = map[string]*module{}
		vulns   []vuln
	)
	for _, f := range files {
		name := f.Name()
		if f.IsDir() || filepath.Ext(name) != ".json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(osvDir, name))
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("%s: %v", name, err)
		}
		// govulncheck finds an entry only at ID/<ID>.json.
		if e.ID == "" || strings.ContainsAny(e.ID, `/\`) || name != e.ID+".json" {
			return 0, fmt.Errorf("%s: the file of entry %q must be named <id>.json", name, e.ID)
		}
		if len(e.Affected) == 0 {
			return 0, fmt.Errorf("%s: no affected module", name)
		}
		if e.Modified.After(meta.Modified) {
			meta.Modified = e.Modified
		}
		for _, a := range e.Affected {
			path := a.Package.Name
			if path == "" {
				return 0, fmt.Errorf("%s: an affected package has no name", name)
			}
			m := modules[path]
			if m == nil {
				m = &module{Path: path}
				modules[path] = m
			}
			// An entry may list a module once per range of versions.
			if !slices.ContainsFunc(m.Vulns, func(v moduleVuln) bool { return v.ID == e.ID }) {
				m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
			}
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		if err := os.WriteFile(filepath.Join(dst, "ID", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	if len(vulns) == 0 {
		// An empty database would let every scan pass.
		return 0, errors.New(osvDir + ": no OSV entries (*.json)")
	}

	index := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		index = append(index, m)
	}
	slices.SortFunc(index, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(vulns, func(a, b vuln) int { return strings.Compare(a.ID, b.ID) })

	for name, v := range map[string]any{"db.json": meta, "modules.json": index, "vulns.json": vulns} {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dst, "index", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(vulns), nil
}
