package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGenerate(t *testing.T) {
	const (
		modules = `[{"path":"golang.org/x/net","vulns":[` +
			`{"id":"GO-2099-0001","modified":"0001-01-01T00:00:00Z"},` +
			`{"id":"GO-2099-0002","modified":"2099-01-02T00:00:00Z"}]},` +
			`{"path":"stdlib","vulns":[{"id":"GO-2099-0001","modified":"0001-01-01T00:00:00Z"}]}]`
		vulns = `[{"id":"GO-2099-0001","modified":"0001-01-01T00:00:00Z","aliases":["CVE-2099-0001"]},` +
			`{"id":"GO-2099-0002","modified":"2099-01-02T00:00:00Z"}]`
	)
	for _, tc := range []struct {
		name, modified, want string
	}{
		{"entries newest", "", `{"modified":"2099-01-02T00:00:00Z"}`},
		{"flag newest", "2099-03-04T05:06:07+01:00", `{"modified":"2099-03-04T04:06:07Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "db")
			// What a previous run left is replaced, not merged.
			if err := os.MkdirAll(filepath.Join(out, "ID"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, "ID", "GO-2000-0000.json"), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			var since time.Time
			if tc.modified != "" {
				var err error
				if since, err = time.Parse(time.RFC3339, tc.modified); err != nil {
					t.Fatal(err)
				}
			}
			n, err := generate("testdata/osv", out, since)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("generate: %d entries, want 2", n)
			}
			for name, want := range map[string]string{
				"index/db.json":      tc.want,
				"index/modules.json": modules,
				"index/vulns.json":   vulns,
			} {
				if got := readFile(t, filepath.Join(out, name)); got != want {
					t.Errorf("%s:\n got %s\nwant %s", name, got, want)
				}
			}
			ids, err := os.ReadDir(filepath.Join(out, "ID"))
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 2 {
				t.Errorf("ID/ has %d files, want 2", len(ids))
			}
			for _, id := range []string{"GO-2099-0001", "GO-2099-0002"} {
				src := readFile(t, filepath.Join("testdata/osv", id+".json"))
				if got := readFile(t, filepath.Join(out, "ID", id+".json")); got != src {
					t.Errorf("ID/%s.json differs from its source", id)
				}
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("out: %v, %v; want a 0755 directory", fi, err)
			}
		})
	}
}

func TestGenerateRejects(t *testing.T) {
	for _, tc := range []struct {
		name, file, body, want string
	}{
		{"misnamed", "GO-2099-0009.json", `{"id":"GO-2099-0010","affected":[{"package":{"name":"m"}}]}`, "must be named"},
		{"no id", "x.json", `{"affected":[{"package":{"name":"m"}}]}`, "must be named"},
		{"no module", "GO-2099-0011.json", `{"id":"GO-2099-0011"}`, "no affected module"},
		{"unnamed module", "GO-2099-0012.json", `{"id":"GO-2099-0012","affected":[{"package":{}}]}`, "has no name"},
		{"not json", "GO-2099-0013.json", `{`, "GO-2099-0013.json"},
		{"empty", "README.txt", "no entries here", "no OSV entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "osv")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, tc.file), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "db")
			_, err := generate(src, out, time.Time{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("generate: %v, want an error with %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("out exists after a failed run: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".vulndb-*")); len(left) > 0 {
				t.Errorf("temporary directories left: %v", left)
			}
		})
	}
}
