package privs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func fakeDB(t *testing.T) Accounts {
	t.Helper()
	dir := t.TempDir()
	passwd := "root:x:0:0:root:/root:/bin/bash\n# comment\nnio:x:998:997:nio runtime:/var/lib/nio:/usr/sbin/nologin\nbob:x:1000:1000::/home/bob:/bin/sh\n"
	group := "root:x:0:\nnio:x:997:\ndialout:x:20:nio,bob\nvideo:x:44:bob\nplugdev:x:46:nio\n"
	os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644)
	os.WriteFile(filepath.Join(dir, "group"), []byte(group), 0o644)
	return Accounts{Passwd: filepath.Join(dir, "passwd"), Group: filepath.Join(dir, "group")}
}

func TestLookup(t *testing.T) {
	accounts := fakeDB(t)
	for _, c := range []struct {
		user, group string
		uid, gid    int
		groups      []int
		home        string
	}{
		{"nio", "", 998, 997, []int{20, 46, 997}, "/var/lib/nio"},
		{"998", "", 998, 997, []int{20, 46, 997}, "/var/lib/nio"},
		{"nio:video", "", 998, 44, []int{20, 44, 46}, "/var/lib/nio"},
		{"nio", "20", 998, 20, []int{20, 46}, "/var/lib/nio"},
		{"4000:4001", "", 4000, 4001, []int{4001}, "/"},
		{"4000", "", 4000, 4000, []int{4000}, "/"},
	} {
		u, err := accounts.Lookup(c.user, c.group)
		if err != nil {
			t.Errorf("%s %s: %v", c.user, c.group, err)
			continue
		}
		if u.UID != c.uid || u.GID != c.gid || !slices.Equal(u.Groups, c.groups) || u.Home != c.home {
			t.Errorf("%s %s: got %+v", c.user, c.group, u)
		}
	}
	for _, bad := range []string{"nobody-here", "nio:nogroup", "-1"} {
		if _, err := accounts.Lookup(bad, ""); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("%s: err %v, want not found", bad, err)
		}
	}
}

func TestCheckAccess(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o640)
	other := &User{Name: "other", UID: 54321, GID: 54321, Groups: []int{54321}}
	if os.Getuid() == 0 {
		// t.TempDir's parent is 0700 root: nobody else may enter it.
		if err := CheckAccess(other, file, Read); err == nil || !strings.Contains(err.Error(), "chmod o+x") {
			t.Errorf("private parent: err %v", err)
		}
	}
	owner := &User{UID: os.Getuid(), GID: os.Getgid(), Groups: []int{os.Getgid()}}
	if owner.UID != 0 {
		if err := CheckAccess(owner, file, Read); err != nil {
			t.Errorf("owner: %v", err)
		}
	}
	st := &User{UID: 54321, Groups: []int{os.Getgid()}}
	if err := allows(st, file, Read, file); err != nil {
		t.Errorf("group member: %v", err)
	}
	if err := allows(other, file, Read, file); err == nil || !strings.Contains(err.Error(), "cannot read") ||
		!strings.Contains(err.Error(), "chmod o+r "+file) {
		t.Errorf("other: %v", err)
	}
	// A private file (a key) is not to be opened to others; a path is
	// quoted for the shell.
	key := filepath.Join(dir, "my key")
	os.WriteFile(key, nil, 0o600)
	if err := allows(other, key, Read, key); err == nil || !strings.HasSuffix(err.Error(), "(run: chown 54321 '"+key+"')") {
		t.Errorf("private file: %v", err)
	}
}

func TestStatusCheck(t *testing.T) {
	u := &User{UID: 998, GID: 997, Groups: []int{20, 997}}
	good := status{"Uid": "998\t998\t998\t998", "Gid": "997\t997\t997\t997", "Groups": "997 20",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1"}
	if err := good.check(u, true); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Uid": "998\t0\t998\t998", "Groups": "997", "CapBnd": "000001ffffffffff", "NoNewPrivs": "0", "CapInh": "0000000000000400"} {
		bad := status{}
		for kk, vv := range good {
			bad[kk] = vv
		}
		bad[k] = v
		if err := bad.check(u, true); err == nil {
			t.Errorf("%s = %s passed the proof", k, v)
		}
	}
	notRoot := status{}
	for k, v := range good {
		notRoot[k] = v
	}
	notRoot["CapBnd"] = "000001ffffffffff"
	if err := notRoot.check(u, false); err != nil {
		t.Errorf("bounding set checked for a process that never was root: %v", err)
	}
}

// /etc/passwd as a FIFO (or a device) is refused at once, never waited on.
func TestLookupRefusesAFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "passwd")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := readDB(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO as the user database: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO as the user database blocked")
	}
}

func TestCannotDropMessage(t *testing.T) {
	if got := cannotDrop([]string{"SETPCAP"}); !strings.HasPrefix(got, "running as root without the capability SETPCAP (a container started with --cap-drop ALL?), niod cannot drop to a user: start niod as the user instead (docker run --user 999:999") {
		t.Errorf("one: %s", got)
	}
	if got := cannotDrop([]string{"SETUID", "SETGID", "SETPCAP"}); !strings.Contains(got, "without the capabilities SETUID, SETGID, SETPCAP (") ||
		!strings.HasSuffix(got, "or keep SETUID, SETGID and SETPCAP (--cap-add SETUID --cap-add SETGID --cap-add SETPCAP)") {
		t.Errorf("three: %s", got)
	}
	if os.Geteuid() == 0 && len(MissingCapabilities()) != 0 {
		t.Errorf("root here lacks %v", MissingCapabilities())
	}
}
