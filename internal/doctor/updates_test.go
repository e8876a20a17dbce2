package doctor

import (
	"reflect"
	"testing"
)

func TestUnattendedUpdates(t *testing.T) {
	t.Parallel()
	const fix = "apt-get install unattended-upgrades && dpkg-reconfigure -plow unattended-upgrades"
	auto := "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n"
	tests := []struct {
		name     string
		files    map[string]string
		status   Status
		evidence []string
	}{
		{"on", map[string]string{"/etc/debian_version": "12.5\n", "/etc/apt/apt.conf.d/20auto-upgrades": auto,
			"/usr/bin/unattended-upgrade": "#!/usr/bin/python3\n"}, OK,
			[]string{`/etc/apt/apt.conf.d/20auto-upgrades: APT::Periodic::Unattended-Upgrade "1";`, "/usr/bin/unattended-upgrade: present"}},
		{"a later file turns it off", map[string]string{"/etc/debian_version": "12.5\n", "/etc/apt/apt.conf.d/20auto-upgrades": auto,
			"/etc/apt/apt.conf.d/99local": "apt::periodic::unattended-upgrade \"0\";\n",
			"/usr/bin/unattended-upgrade": ""}, Warn,
			[]string{`/etc/apt/apt.conf.d/99local: apt::periodic::unattended-upgrade "0";`, "/usr/bin/unattended-upgrade: present"}},
		{"a file apt ignores", map[string]string{"/etc/debian_version": "12.5\n", "/etc/apt/apt.conf.d/20auto-upgrades": auto,
			"/etc/apt/apt.conf.d/99off.dpkg-old": "APT::Periodic::Unattended-Upgrade \"0\";\n",
			"/usr/bin/unattended-upgrade":        ""}, OK,
			[]string{`/etc/apt/apt.conf.d/20auto-upgrades: APT::Periodic::Unattended-Upgrade "1";`, "/usr/bin/unattended-upgrade: present"}},
		{"set, but the program is missing", map[string]string{"/etc/debian_version": "12.5\n", "/etc/apt/apt.conf.d/20auto-upgrades": auto}, Warn,
			[]string{`/etc/apt/apt.conf.d/20auto-upgrades: APT::Periodic::Unattended-Upgrade "1";`, "/usr/bin/unattended-upgrade: absent"}},
		{"unset", map[string]string{"/etc/debian_version": "bookworm/sid\n", "/etc/apt/apt.conf.d/70debconf": "// Pre-configure all packages with debconf before they are installed.\nDPkg::Pre-Install-Pkgs {\"/usr/sbin/dpkg-preconfigure --apt || true\";};\n"}, Warn,
			[]string{"APT::Periodic::Unattended-Upgrade unset in /etc/apt/apt.conf.d", "/usr/bin/unattended-upgrade: absent"}},
	}
	for _, tt := range tests {
		f := runOne(t, UpdateChecks(), "updates.unattended", hostLaidOut(t, tt.files))
		if f.Status != tt.status || !reflect.DeepEqual(f.Evidence, tt.evidence) {
			t.Errorf("%s: got %s %q %q, want %s %q", tt.name, f.Status, f.Summary, f.Evidence, tt.status, tt.evidence)
		}
		if tt.status == Warn && (f.Fix != fix || f.Summary != "security updates wait for someone to install them") {
			t.Errorf("%s: summary %q fix %q", tt.name, f.Summary, f.Fix)
		}
	}
	f := runOne(t, UpdateChecks(), "updates.unattended", hostLaidOut(t, map[string]string{"/etc/redhat-release": "Fedora\n"}))
	if f.Status != Skip || f.Summary != "not Debian or Ubuntu" {
		t.Errorf("not Debian: got %s %q", f.Status, f.Summary)
	}
}

func TestUnattendedUpdatesUnreadable(t *testing.T) {
	t.Parallel()
	h := hostLaidOut(t, map[string]string{"/etc/debian_version": "12.5\n", "/etc/apt/apt.conf.d": "not a directory\n"})
	f := runOne(t, UpdateChecks(), "updates.unattended", h)
	if want := "cannot read /etc/apt/apt.conf.d: not a directory"; f.Status != Skip || f.Summary != want {
		t.Errorf("got %s %q, want skip %q", f.Status, f.Summary, want)
	}
}

func TestAptUnattended(t *testing.T) {
	for line, want := range map[string]string{
		`APT::Periodic::Unattended-Upgrade "1";`:          "1",
		"\t apt::periodic::unattended-upgrade\t\"0\";":    "0",
		`APT::Periodic::Unattended-Upgrade  "7"; // week`: "7",
		`APT::Periodic::Unattended-Upgrade"1";`:           "(none)",
		`APT::Periodic::Unattended-Upgrades "1";`:         "(none)",
		`APT::Periodic::Unattended-Upgrade 1;`:            "(none)",
		`APT::Periodic::Unattended-Upgrade "1`:            "(none)",
		`// APT::Periodic::Unattended-Upgrade "1";`:       "(none)",
		`APT::Periodic::Update-Package-Lists "1";`:        "(none)",
	} {
		got, ok := aptUnattended(line)
		if !ok {
			got = "(none)"
		}
		if got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
}
