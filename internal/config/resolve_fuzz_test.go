package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// resolveSeeds are settings built to make references multiply, nest, loop
// and hide secrets; FuzzResolve mutates them.
var resolveSeeds = []struct{ conf, env string }{
	{doubling(30), ""},
	{doubling(3) + "[s]\nk = [[L3]][[L3]][[L3]][[L3]]\n", ""},
	{"[s]\ntop = [[" + c(99) + "]]\n" + chain(100, true), ""},
	{chain(100, false), ""},
	{"[user_defined]\na = [[b]]\nb = [[c]][[a]]\nc = [[a]]\n[s]\nx = [[a]][[b]]\n", ""},
	{"[user_defined]\nself = [[self]]\n", ""},
	{"[s]\nk = [[[[a]]]] [[ a ]] [[a] ]] [[]] [[\n[user_defined]\na = ]]\n", ""},
	{"[s]\nk = [[BIG]][[BIG]]\n", "BIG=" + strings.Repeat("b", 1<<10)},
	{"[user_defined]\nraw = s3cr3t\n[x]\npassword = [[raw]]\nurl = //[[raw]]@[[HOST]]\n", "HOST=h"},
	{"[niod]\ncommand = tool --password [[DB_PASSWORD]] [[MISSING]]\n", "DB_PASSWORD=pw"},
	{"[DEFAULT]\nd = [[PROJECT_ROOT]]/[[d2]]\n[user_defined]\nd2 = [[d]]\n[s]\nk = [[d]]\n", "PROJECT_ROOT="},
	{"[user_defined]\nPROJECT_ROOT =\n[s]\nk = [[PROJECT_ROOT]]\n  [[PROJECT_ROOT]]\n", ""},
}

// FuzzResolve checks that Resolve never panics, stays within its caps,
// always ends quickly, gives the same answer twice, and lets secretness
// flow through references.
func FuzzResolve(f *testing.F) {
	for _, s := range resolveSeeds {
		f.Add(s.conf, s.env)
	}
	f.Fuzz(func(t *testing.T, conf, envText string) {
		s, _ := Parse("fuzz.conf", []byte(conf))
		env := map[string]string{}
		for _, line := range strings.Split(envText, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
		start := time.Now()
		ps := s.Resolve(envOf(env), "/r")
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Resolve took %v", d)
		}
		kept := map[bool]int{}
		for i, p := range ps {
			if p.Msg == "" {
				t.Fatalf("empty problem %+v", p)
			}
			if p.Omitted > 0 {
				if i+1 < len(ps) && ps[i+1].Undefined == p.Undefined {
					t.Fatalf("problem %d closes its list but more follow: %v", i, ps)
				}
				continue
			}
			if kept[p.Undefined]++; kept[p.Undefined] > MaxProblems {
				t.Fatalf("more than %d problems of a kind kept", MaxProblems)
			}
		}
		total, refs := 0, 0
		s.All(func(sec *Section, v *Value) {
			refs += len(v.Refs)
			if v.Text != v.Raw {
				total += len(v.Text)
			}
			if len(v.Refs) > 0 && len(v.Text) > max(MaxResolvedValue, len(v.Raw)) {
				t.Fatalf("[%s] %s holds %d bytes", sec.Name, v.Key, len(v.Text))
			}
			if v.depth > MaxRefDepth {
				t.Fatalf("[%s] %s is %d deep", sec.Name, v.Key, v.depth)
			}
			if IsSecretKey(v.Key) && !v.Secret {
				t.Fatalf("[%s] %s is not secret", sec.Name, v.Key)
			}
			for _, r := range v.Refs {
				if r.Secret && !v.Secret {
					t.Fatalf("[%s] %s refers to a secret, is not secret", sec.Name, v.Key)
				}
				if u := s.Lookup(UserDefined, r.Name); u != nil && r.Source == FromUserDefined && (v.whole && !u.Secret || u.Secret && !v.Secret) {
					t.Fatalf("[%s] %s (whole %v, secret %v) and [[%s]] (secret %v)", sec.Name, v.Key, v.whole, v.Secret, r.Name, u.Secret)
				}
			}
		})
		if total > MaxResolvedTotal || refs > MaxReferences {
			t.Fatalf("%d bytes resolved, %d references", total, refs)
		}

		texts := snapshotOf(s)
		secrets := s.SecretValues()
		if ps2 := s.Resolve(envOf(env), "/r"); !reflect.DeepEqual(ps, ps2) {
			t.Fatalf("second Resolve differs:\n%v\n%v", ps, ps2)
		}
		if !reflect.DeepEqual(texts, snapshotOf(s)) || !reflect.DeepEqual(secrets, s.SecretValues()) {
			t.Fatal("second Resolve resolved differently")
		}
	})
}
