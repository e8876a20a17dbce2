package config

import (
	"bytes"
	"reflect"
	"testing"
)

// snapshot is what configparser would hold: every section, [DEFAULT] and
// empty ones included, with its keys and values in order.
type snapshot []sectionSnap

type sectionSnap struct {
	name string
	keys []entry
}

func snapshotOf(s *Settings) snapshot {
	var out snapshot
	for _, sec := range append([]*Section{s.Defaults()}, s.Sections()...) {
		item := sectionSnap{name: sec.Name}
		for _, v := range sec.Values() {
			item.keys = append(item.keys, entry{sec.Name, v.Key, v.Text})
		}
		if sec.Name == DefaultSection && len(item.keys) == 0 {
			continue // Render leaves an empty [DEFAULT] out
		}
		out = append(out, item)
	}
	return out
}

var fuzzSeeds = []string{
	"",
	"[DEFAULT]\nenvironment = prod\n\n[user_defined]\nPROJECT_ROOT =\nbase = /opt/nio\nlogs = [[base]]/logs\n\n" +
		"[rest]\nhost = 0.0.0.0\nport: 8181\n\n[logging]\nconf = [[PROJECT_ROOT]]/etc/logging.json\n",
	"# settings\n; more\n[service]\nmodules =\n    core\n    web\n\n    extra\n# comment inside\n  ; indented comment\nnext = 1\n",
	"[s]\r\nkey = value\r\n  continued\r\n\r\n[t]\rcr = only\r",
	"\ufeff[DEFAULT]\nd = 1\n[DEFAULT]\ne = 2\n[a]b]\nk = v = w : x\n",
	"[s]\n\u3000k\u00a0=\u00a0v\u2028\n\u3000\u3000\u3000cont\x1c\n\x1fnot-a-cont\n",
	"[s]\napi_token = abc\nkey = -----BEGIN PRIVATE KEY-----\n  MIIE\n  -----END PRIVATE KEY-----\n",
	"[s]\na = 1\na = 2\n[s]\nstray\n[broken\n = empty\n",
	"orphan = 1\n[s]\n\tindented = header\n  [x]\n",
}

// FuzzParse checks that Parse never panics, and that settings it accepts
// survive Render and Parse unchanged, with Render stable from then on.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ps := Parse("fuzz.conf", data)
		for _, p := range ps {
			if p.Origin.File != "fuzz.conf" || p.Origin.Line < 0 || p.Msg == "" {
				t.Fatalf("malformed problem %+v", p)
			}
		}
		if len(ps) > 0 {
			return
		}
		var first bytes.Buffer
		if err := s.Render(&first, RenderOptions{Reveal: true}); err != nil {
			t.Fatal(err)
		}
		s2, ps := Parse("rendered.conf", first.Bytes())
		if len(ps) > 0 {
			t.Fatalf("rendered output does not parse: %v\ninput %q\nrendered %q", ps, data, first.Bytes())
		}
		if a, b := snapshotOf(s), snapshotOf(s2); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the settings\ninput    %q\nrendered %q\nbefore %q\nafter  %q", data, first.Bytes(), a, b)
		}
		var second bytes.Buffer
		if err := s2.Render(&second, RenderOptions{Reveal: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("second render differs\nfirst  %q\nsecond %q", first.Bytes(), second.Bytes())
		}
	})
}
