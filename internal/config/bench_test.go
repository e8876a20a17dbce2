package config

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// benchFile is one generated settings file.
type benchFile struct {
	name string
	data []byte
}

// benchSet is a generated set of settings files and the keys they hold.
type benchSet struct {
	once  sync.Once
	files []benchFile
	keys  int // key lines in all files
}

var (
	bench10k  = &benchSet{}
	bench100k = &benchSet{}
)

// benchEnv stands for the environment of the benchmark runs.
func benchEnv(name string) (string, bool) {
	switch name {
	case "BENCH_HOME":
		return "/srv/bench", true
	case "BENCH_USER":
		return "bench", true
	}
	return "", false
}

// genBenchFiles writes, like bench/gen_settings.py, three files holding
// total keys: shared sections so later files override earlier ones, a
// [DEFAULT], nested [user_defined] references, references to BENCH_HOME and
// some multi-line values.
func genBenchFiles(total int) ([]benchFile, int) {
	rng := rand.New(rand.NewPCG(42, 1))
	shares := []struct {
		name  string
		share float64
	}{{"a.conf", 0.5}, {"b.conf", 0.3}, {"c.conf", 0.2}}
	var ud []string
	var files []benchFile
	written := 0
	for idx, f := range shares {
		budget := int(float64(total) * f.share)
		if idx == len(shares)-1 {
			budget = total - written
		}
		var b strings.Builder
		used := 0
		fmt.Fprintf(&b, "# generated settings file %s\n", f.name)
		if idx == 0 {
			b.WriteString("[DEFAULT]\nenvironment = bench\nregion = local\n\n")
			used += 2
		}
		b.WriteString("[user_defined]\n")
		n := 20
		if idx == 0 {
			n = 60
		}
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("ud_%d_%d", idx, i)
			if i%4 == 0 || len(ud) == 0 {
				fmt.Fprintf(&b, "%s = /opt/bench/%s\n", key, key)
			} else {
				fmt.Fprintf(&b, "%s = [[%s]]/%s\n", key, ud[len(ud)-1], key)
			}
			ud = append(ud, key)
			used++
		}
		b.WriteString("\n")
		start := 0
		if idx > 0 {
			start = 100
		}
		// Keys go round 40 sections; each section is written once.
		secs := make([]strings.Builder, 40)
		count := make([]int, 40)
		var order []int
		for i := 0; used < budget; i, used = i+1, used+1 {
			sec := (i*7 + idx) % len(secs)
			w := &secs[sec]
			if count[sec] == 0 {
				order = append(order, sec)
			}
			fmt.Fprintf(w, "key_%04d = value-%d-%06x", start+count[sec]*(idx+1), i+idx*100000, rng.Uint32()&0xffffff)
			count[sec]++
			if i%7 == 0 {
				fmt.Fprintf(w, " [[%s]]", ud[rng.IntN(len(ud)-5)])
			}
			if i%11 == 0 {
				fmt.Fprintf(w, " [[BENCH_HOME]]/data/%d", i)
			}
			if i%13 == 0 {
				w.WriteString(" [[ BENCH_USER ]]")
			}
			if i%25 == 0 {
				for l := 0; l < 3; l++ {
					fmt.Fprintf(w, "\n    continued line %d of key %d", l, i)
				}
			}
			w.WriteString("\n")
		}
		for _, sec := range order {
			fmt.Fprintf(&b, "[service_%02d]\n%s\n", sec, secs[sec].String())
		}
		files = append(files, benchFile{f.name, []byte(b.String())})
		written += used
	}
	return files, written
}

// benchTotal is how many keys the three files hold in all.
const benchTotal = 10000

func (bs *benchSet) load(total int) []benchFile {
	bs.once.Do(func() { bs.files, bs.keys = genBenchFiles(total) })
	return bs.files
}

func loadBenchFiles() []benchFile { return bench10k.load(benchTotal) }

func BenchmarkMergeResolveRender(b *testing.B) {
	benchMergeResolveRender(b, loadBenchFiles(), bench10k.keys)
}

// BenchmarkMergeResolveRender100k is the same at ten times the size: what
// grows faster than the input shows here.
func BenchmarkMergeResolveRender100k(b *testing.B) {
	benchMergeResolveRender(b, bench100k.load(10*benchTotal), bench100k.keys)
}

func benchMergeResolveRender(b *testing.B, files []benchFile, keys int) {
	size := 0
	for _, f := range files {
		size += len(f.data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		s := New()
		for _, f := range files {
			if ps := s.Read(f.name, f.data); len(ps) > 0 {
				b.Fatal(ps)
			}
		}
		if ps := s.Resolve(benchEnv, "/srv/project"); len(ps) > 0 {
			b.Fatal(ps)
		}
		if err := s.Render(io.Discard, RenderOptions{Reveal: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(keys), "keys/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(keys), "ns/key")
}

func BenchmarkParse(b *testing.B) {
	f := loadBenchFiles()[0]
	b.SetBytes(int64(len(f.data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ps := Parse(f.name, f.data); len(ps) > 0 {
			b.Fatal(ps)
		}
	}
}

// TestBenchFiles checks that the benchmark reads what it claims to.
func TestBenchFiles(t *testing.T) {
	files, keys := genBenchFiles(benchTotal)
	if keys != benchTotal || len(files) != 3 {
		t.Fatalf("%d files, %d keys", len(files), keys)
	}
	s := New()
	lines := 0
	for _, f := range files {
		if ps := s.Read(f.name, f.data); len(ps) > 0 {
			t.Fatal(ps)
		}
		for _, l := range strings.Split(string(f.data), "\n") {
			if strings.Contains(l, " = ") && !strings.HasPrefix(l, " ") {
				lines++
			}
		}
	}
	if lines != keys {
		t.Errorf("files hold %d key lines, want %d", lines, keys)
	}
	if ps := s.Resolve(benchEnv, "/srv/project"); len(ps) > 0 {
		t.Fatal(ps)
	}
	var multi, refs, env int
	s.All(func(_ *Section, v *Value) {
		if strings.Contains(v.Text, "\n") {
			multi++
		}
		for _, r := range v.Refs {
			refs++
			if r.Source == FromEnvironment {
				env++
			}
		}
	})
	if len(s.Defaults().Values()) == 0 || multi == 0 || refs == 0 || env == 0 || len(s.Sections()) < 40 {
		t.Errorf("defaults %d, multi-line %d, refs %d, env refs %d, sections %d",
			len(s.Defaults().Values()), multi, refs, env, len(s.Sections()))
	}
}

// BenchmarkLoad100k is what `niod config` does: read the
// files from disk, merge, resolve, classify secrets, apply [niod], render.
func BenchmarkLoad100k(b *testing.B) {
	files := bench100k.load(10 * benchTotal)
	dir := b.TempDir()
	req := Request{Root: dir, Environ: []string{"BENCH_HOME=/srv/bench", "BENCH_USER=bench"}}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			b.Fatal(err)
		}
		req.Files = append(req.Files, f.name)
	}
	b.ReportAllocs()
	for b.Loop() {
		l, ps := Load(req)
		if len(ps) > 0 {
			b.Fatal(ps)
		}
		if err := l.Settings.Render(io.Discard, RenderOptions{Reveal: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bench100k.keys), "keys/op")
}
