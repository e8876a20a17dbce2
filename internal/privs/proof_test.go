package privs

import (
	"maps"
	"strings"
	"testing"
)

// okStatus is what /proc/self/task/*/status shows after a complete drop
// from root to uid 998, gid 997, groups 20 and 997.
func okStatus() status {
	return status{
		"Uid":        "998\t998\t998\t998",
		"Gid":        "997\t997\t997\t997",
		"Groups":     "997 20",
		"CapInh":     "0000000000000000",
		"CapPrm":     "0000000000000000",
		"CapEff":     "0000000000000000",
		"CapBnd":     "0000000000000000",
		"CapAmb":     "0000000000000000",
		"NoNewPrivs": "1",
	}
}

func TestStatusCheckFailsClosed(t *testing.T) {
	u := &User{Name: "nio", UID: 998, GID: 997, Groups: []int{20, 997}}
	type edit func(status)
	set := func(k, v string) edit { return func(st status) { st[k] = v } }
	del := func(k string) edit { return func(st status) { delete(st, k) } }
	cases := []struct {
		name     string
		edit     edit
		fromRoot bool
		wantErr  string // "" when the check must pass
	}{
		{"complete", nil, true, ""},
		{"complete, not from root", nil, false, ""},
		{"bounding set kept, not from root", set("CapBnd", "000001ffffffffff"), false, ""},
		{"bounding set missing, not from root", del("CapBnd"), false, ""},
		{"tabs and spaces", set("Uid", " 998 998\t998  998 "), true, ""},

		{"Uid missing", del("Uid"), true, "Uid"},
		{"Gid missing", del("Gid"), true, "Gid"},
		{"Groups missing", del("Groups"), true, "Groups"},
		{"CapInh missing", del("CapInh"), true, "CapInh"},
		{"CapPrm missing", del("CapPrm"), true, "CapPrm"},
		{"CapEff missing", del("CapEff"), true, "CapEff"},
		{"CapBnd missing", del("CapBnd"), true, "CapBnd"},
		{"CapAmb missing", del("CapAmb"), true, "CapAmb"},
		{"NoNewPrivs missing", del("NoNewPrivs"), true, "NoNewPrivs"},

		{"Uid empty", set("Uid", ""), true, "Uid"},
		{"Uid short", set("Uid", "998 998 998"), true, "Uid"},
		{"Uid one field", set("Uid", "998"), true, "Uid"},
		{"Uid long", set("Uid", "998 998 998 998 998"), true, "Uid"},
		{"Gid short", set("Gid", "997 997"), true, "Gid"},
		{"saved uid root", set("Uid", "998 998 0 998"), true, "Uid"},
		{"fs gid root", set("Gid", "997 997 997 0"), true, "Gid"},
		{"Uid not a number", set("Uid", "998 998 x 998"), true, "Uid"},
		{"Uid signed", set("Uid", "+998 998 998 998"), true, "Uid"},
		{"Gid not a number", set("Gid", "997 997 997 997a"), true, "Gid"},

		{"Groups extra", set("Groups", "0 20 997"), true, "roups"},
		{"Groups short", set("Groups", "997"), true, "roups"},
		{"Groups empty", set("Groups", ""), true, "roups"},
		{"Groups not a number", set("Groups", "997 2x"), true, "Groups"},

		{"CapEff set", set("CapEff", "0000000000000400"), true, "CapEff"},
		{"CapAmb set", set("CapAmb", "0000000000000001"), true, "CapAmb"},
		{"CapBnd set, from root", set("CapBnd", "000001ffffffffff"), true, "CapBnd"},
		{"CapPrm empty", set("CapPrm", ""), true, "CapPrm"},
		{"CapInh not hex", set("CapInh", "000000000000000g"), true, "CapInh"},
		{"CapEff with 0x", set("CapEff", "0x0"), true, "CapEff"},
		{"CapBnd not hex, not from root", set("CapBnd", "zz"), false, ""},

		{"NoNewPrivs 0", set("NoNewPrivs", "0"), true, "NoNewPrivs"},
		{"NoNewPrivs empty", set("NoNewPrivs", ""), true, "NoNewPrivs"},
		{"NoNewPrivs not a number", set("NoNewPrivs", "yes"), true, "NoNewPrivs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := okStatus()
			if c.edit != nil {
				c.edit(st)
			}
			err := st.check(u, c.fromRoot)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("check failed: %v", err)
			case c.wantErr != "" && err == nil:
				t.Errorf("check passed, want an error about %s", c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Errorf("error %q does not name %s", err, c.wantErr)
			}
		})
	}
}

// A user without any group: an empty Groups line is the right one.
func TestStatusCheckUserWithoutGroups(t *testing.T) {
	u := &User{UID: 5000, GID: 5000}
	st := okStatus()
	st["Uid"], st["Gid"], st["Groups"] = "5000 5000 5000 5000", "5000 5000 5000 5000", ""
	if err := st.check(u, true); err != nil {
		t.Errorf("empty Groups for a user with none: %v", err)
	}
	st["Groups"] = "5000"
	if err := st.check(u, true); err == nil {
		t.Error("a group the user does not have passed")
	}
}

// The check keys must be those the kernel prints; a misspelt key would
// otherwise only show up as a failed drop in production.
func TestStatusKeysExist(t *testing.T) {
	st, err := readStatus("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for k := range maps.Keys(okStatus()) {
		if _, ok := st[k]; !ok {
			t.Errorf("/proc/self/status has no %s line", k)
		}
	}
}
