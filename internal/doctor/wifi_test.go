package doctor

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// wifiFixture is a fixture of testdata/wifi and where it goes on the host.
type wifiFixture struct{ host, fixture string }

// The fixtures by where they go.
func nmAt(name string) wifiFixture {
	return wifiFixture{"/etc/NetworkManager/system-connections/" + name, "nm/" + name}
}
func wpaAt(name string) wifiFixture { return wifiFixture{"/etc/wpa_supplicant/" + name, "wpa/" + name} }
func iwdAt(name string) wifiFixture { return wifiFixture{"/var/lib/iwd/" + name, "iwd/" + name} }

// wifiLayout lays a host out under root: network interfaces (name →
// "wireless", "phy80211" or "" for a wired one) and fixtures, mode 0600
// as NetworkManager, wpa_supplicant and iwd keep them.
func wifiLayout(t *testing.T, root string, ifaces map[string]string, fixtures ...wifiFixture) *Host {
	t.Helper()
	mkdir := func(dir string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, kind := range ifaces {
		dir := filepath.Join(root, "sys/class/net", name)
		mkdir(dir)
		switch kind {
		case "wireless":
			mkdir(filepath.Join(dir, "wireless"))
		case "phy80211":
			// As in sysfs: a link into /sys/class/ieee80211, not laid out here.
			if err := os.Symlink("../../ieee80211/phy0", filepath.Join(dir, "phy80211")); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range fixtures {
		text, err := os.ReadFile(filepath.Join("testdata/wifi", f.fixture))
		if err != nil {
			t.Fatal(err)
		}
		full := filepath.Join(root, f.host)
		mkdir(filepath.Dir(full))
		if err := os.WriteFile(full, text, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &Host{Root: root, Euid: os.Geteuid()}
}

var wlan0 = map[string]string{"wlan0": "wireless"}

// wifiRun runs the check the way niod doctor does.
func wifiRun(h *Host) Finding {
	return Run(h, WiFiChecks())[0]
}

func wifiWant(t *testing.T, got, want Finding) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
}

func TestWiFiChecks(t *testing.T) {
	checks := WiFiChecks()
	if len(checks) != 1 || checks[0].ID != "wifi.security" || checks[0].Container {
		t.Fatalf("WiFiChecks() = %+v", checks)
	}
	got := Run(&Host{Root: t.TempDir(), InContainer: true}, checks)
	wifiWant(t, got[0], Finding{ID: "wifi.security", Status: Skip, Summary: "not visible from a container: run niod doctor on the host"})
}

func TestWiFiNoInterface(t *testing.T) {
	t.Parallel()
	// A wired interface and a WiFi profile, but nothing to join it with.
	h := wifiLayout(t, t.TempDir(), map[string]string{"eth0": "", "lo": ""}, nmAt("guest.nmconnection"))
	wifiWant(t, wifiRun(h), Finding{ID: "wifi.security", Status: Skip, Summary: "no wireless interface"})
	// No /sys/class/net at all.
	wifiWant(t, wifiRun(&Host{Root: t.TempDir()}), Finding{ID: "wifi.security", Status: Skip, Summary: "no wireless interface"})
}

func TestWiFiInterfaces(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := wifiLayout(t, root, map[string]string{"eth0": "", "wlan0": "wireless", "wlp2s0": "phy80211", "lo": ""})
	// A file named wireless is not the sysfs directory.
	if err := os.WriteFile(filepath.Join(root, "sys/class/net/eth0/wireless"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := wifiInterfaces(h); !reflect.DeepEqual(got, []string{"wlan0", "wlp2s0"}) {
		t.Errorf("wifiInterfaces = %q", got)
	}
}

func TestWiFiNoNetwork(t *testing.T) {
	t.Parallel()
	// A wired profile is not a WiFi network; an empty wpa_supplicant.conf
	// has none.
	root := t.TempDir()
	h := wifiLayout(t, root, wlan0, nmAt("Wired connection 1.nmconnection"))
	if err := os.MkdirAll(filepath.Join(root, "etc/wpa_supplicant"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/wpa_supplicant/wpa_supplicant.conf"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wifiWant(t, wifiRun(h), Finding{ID: "wifi.security", Status: OK, Summary: "no WiFi network configured", Evidence: []string{
		"wireless interface: wlan0",
		"searched: " + wifiSearched,
	}})
}

func TestWiFiOK(t *testing.T) {
	t.Parallel()
	h := wifiLayout(t, t.TempDir(), map[string]string{"wlan0": "wireless", "wlan1": "phy80211"},
		nmAt("office.nmconnection"), nmAt("home.nmconnection"), nmAt("corp.nmconnection"), nmAt("agent.nmconnection"),
		wpaAt("ok.conf"), iwdAt("Corp Net.8021x"), iwdAt("hexkey.psk"))
	nm := "/etc/NetworkManager/system-connections/"
	wifiWant(t, wifiRun(h), Finding{ID: "wifi.security", Status: OK,
		Summary: "8 configured WiFi networks (any may be joined): kitchen (WPA2-PSK), corp (WPA2-EAP), home (WPA3-SAE), office (WPA2-PSK), floor (WPA3-SAE), radius (WPA2-EAP), 2 more",
		Evidence: []string{
			"wireless interfaces: wlan0, wlan1",
			nm + `agent.nmconnection:12: "kitchen" (connection "agent"): WPA2-PSK (passphrase not in the file: not checked)`,
			nm + `corp.nmconnection:11: "corp": WPA2-EAP`,
			nm + `home.nmconnection:11: "home": WPA3-SAE`,
			nm + `office.nmconnection:14: "office": WPA2-PSK`,
			`/etc/wpa_supplicant/ok.conf:2: "floor": WPA3-SAE`,
			`/etc/wpa_supplicant/ok.conf:8: "radius": WPA2-EAP`,
			`/var/lib/iwd/Corp Net.8021x: "Corp Net": WPA2-EAP`,
			`/var/lib/iwd/hexkey.psk: "hexkey": WPA2/WPA3-PSK (a 64-hex key: its passphrase is not checked)`,
		}})
}

func TestWiFiWarn(t *testing.T) {
	t.Parallel()
	h := wifiLayout(t, t.TempDir(), wlan0, nmAt("office.nmconnection"), nmAt("lab.nmconnection"), nmAt("cafe.nmconnection"))
	nm := "/etc/NetworkManager/system-connections/"
	wifiWant(t, wifiRun(h), Finding{ID: "wifi.security", Status: Warn,
		Summary: "3 configured WiFi networks (any may be joined): cafe (OWE), lab (WPA2-PSK), office (WPA2-PSK)",
		Evidence: []string{
			"wireless interface: wlan0",
			nm + `cafe.nmconnection:11: "cafe": OWE (encrypted but the access point is not authenticated: anyone can pose as it)`,
			nm + `lab.nmconnection:12: "lab": WPA2-PSK (passphrase shorter than 12 characters: a short passphrase can be guessed offline)`,
			nm + `office.nmconnection:14: "office": WPA2-PSK`,
		},
		Fix: "give lab a passphrase of 12 characters or more, or move it to WPA3-SAE; use WPA2/WPA3 instead of OWE for cafe"})
}

func TestWiFiFail(t *testing.T) {
	t.Parallel()
	h := wifiLayout(t, t.TempDir(), wlan0, nmAt("office.nmconnection"), nmAt("guest.nmconnection"))
	nm := "/etc/NetworkManager/system-connections/"
	wifiWant(t, wifiRun(h), Finding{ID: "wifi.security", Status: Fail,
		Summary: "2 configured WiFi networks (any may be joined): guest (open), office (WPA2-PSK)",
		Evidence: []string{
			"wireless interface: wlan0",
			nm + `guest.nmconnection:6: "guest": open (no encryption: anyone in range reads the traffic)`,
			nm + `office.nmconnection:14: "office": WPA2-PSK`,
		},
		Fix: "remove the open network guest (nmcli connection delete guest) or secure it with WPA2/WPA3"})
}

// wifiSecrets are the passphrases, keys and passwords of the fixtures:
// no finding may hold any of them.
var wifiSecrets = []string{
	"correct horse", "correct\\shorse", "battery staple", "0a1b2c3d4e", "an old but long passphrase", "hunter22", "tiny-pw1",
	"Eap-Secret-Password-17", "a # sign", "abcde", "scanner-passphrase-long", "wpa1-passphrase-long", "sh0rtpw1",
	"0f1e2d3c4b5a6978", "tiny", "trans-pw", "Wpa-Eap-Password-17", "floor-sae-password", "iwd long passphrase",
	"iwdshort", "4b1d2c3a", "aabbccdd", "Iwd-Eap-Password-17",
}

func TestWiFiEverySource(t *testing.T) {
	t.Parallel()
	var fixtures []wifiFixture
	for _, dir := range []string{"nm", "wpa", "iwd"} {
		names, err := filepath.Glob(filepath.Join("testdata/wifi", dir, "*"))
		if err != nil || len(names) == 0 {
			t.Fatal(names, err)
		}
		for _, n := range names {
			base := filepath.Base(n)
			fixtures = append(fixtures, map[string]wifiFixture{"nm": nmAt(base), "wpa": wpaAt(base), "iwd": iwdAt(base)}[dir])
		}
	}
	fixtures = append(fixtures,
		wifiFixture{"/run/netplan/wpa-wlan0.conf", "netplan/wpa-wlan0.conf"},
		wifiFixture{"/run/NetworkManager/system-connections/netplan-wlan0-plant.nmconnection", "nm/netplan-wlan0-plant.nmconnection"},
		// /run takes *.nmconnection only; /etc takes this backup too, as NetworkManager does.
		wifiFixture{"/run/NetworkManager/system-connections/guest.nmconnection~", "nm/guest.nmconnection"},
		wifiFixture{"/etc/NetworkManager/system-connections/.hidden.nmconnection", "nm/guest.nmconnection"},
		wifiFixture{"/etc/NetworkManager/system-connections/guest2", "nm/guest.nmconnection"},
	)
	h := wifiLayout(t, t.TempDir(), wlan0, fixtures...)
	got := wifiRun(h)
	if got.Status != Fail {
		t.Errorf("status %s, want fail", got.Status)
	}
	wantSummary := "31 configured WiFi networks (any may be joined): guest (open), guest (open), legacy (WPA-TKIP), plant (open), warehouse (WEP), plant (open), 25 more"
	if got.Summary != wantSummary {
		t.Errorf("summary\n%s\nwant\n%s", got.Summary, wantSummary)
	}
	wantFix := "remove the open network guest (nmcli connection delete guest), the open network guest (nmcli connection delete guest), " +
		"the WPA-TKIP network legacy (nmcli connection delete legacy) and 9 more, or secure them with WPA2/WPA3"
	if got.Fix != wantFix {
		t.Errorf("fix\n%s\nwant\n%s", got.Fix, wantFix)
	}
	nm, wpa := "/etc/NetworkManager/system-connections/", "/etc/wpa_supplicant/wpa_supplicant.conf"
	wantEvidence := []string{
		"wireless interface: wlan0",
		nm + `agent.nmconnection:12: "kitchen" (connection "agent"): WPA2-PSK (passphrase not in the file: not checked)`,
		nm + `cafe.nmconnection:11: "cafe": OWE (encrypted but the access point is not authenticated: anyone can pose as it)`,
		nm + `corp.nmconnection:11: "corp": WPA2-EAP`,
		nm + `guest.nmconnection:6: "guest": open (no encryption: anyone in range reads the traffic)`,
		nm + `guest2:6: "guest": open (no encryption: anyone in range reads the traffic)`,
		nm + `home.nmconnection:11: "home": WPA3-SAE`,
		nm + `lab.nmconnection:12: "lab": WPA2-PSK (passphrase shorter than 12 characters: a short passphrase can be guessed offline)`,
		nm + `legacy.nmconnection:11: "legacy": WPA-TKIP (TKIP is deprecated and broken)`,
		nm + `netplan-wlan0-plant.nmconnection:7: "plant" (connection "netplan-wlan0-plant"): open (no encryption: anyone in range reads the traffic)`,
		nm + `office.nmconnection:14: "office": WPA2-PSK`,
		nm + `warehouse.nmconnection:12: "warehouse" (connection "Warehouse WEP"): WEP (WEP is broken: its key is recovered in minutes)`,
		`/run/NetworkManager/system-connections/netplan-wlan0-plant.nmconnection:7: "plant" (connection "netplan-wlan0-plant"): open (no encryption: anyone in range reads the traffic)`,
		`/etc/wpa_supplicant/ok.conf:2: "floor": WPA3-SAE`,
		`/etc/wpa_supplicant/ok.conf:8: "radius": WPA2-EAP`,
		wpa + `:6: "floor": WPA2-PSK`,
		wpa + `:13: "lobby": open (no encryption: anyone in range reads the traffic)`,
		wpa + `:18: "printer": WEP (WEP is broken: its key is recovered in minutes)`,
		wpa + `:25: "scanner": WPA-TKIP (TKIP is deprecated and broken)`,
		wpa + `:34: "wpa1only": WPA1 (WPA version 1 is deprecated)`,
		wpa + `:41: "shortpw": WPA2-PSK (passphrase shorter than 12 characters: a short passphrase can be guessed offline)`,
		wpa + `:46: "hex": WPA2-PSK (a 64-hex key: its passphrase is not checked)`,
		wpa + `:51: "mesh": WPA3-SAE`,
		wpa + `:58: "transition": WPA2/WPA3-PSK (passphrase shorter than 12 characters: a short passphrase can be guessed offline)`,
		wpa + `:64: "radius": WPA2-EAP`,
		wpa + `:73: "airport": OWE (encrypted but the access point is not authenticated: anyone can pose as it)`,
		`/run/netplan/wpa-wlan0.conf:3: "yard": open (no encryption: anyone in range reads the traffic)`,
		`/var/lib/iwd/=636166c3a9.open: "café": open (no encryption: anyone in range reads the traffic)`,
		`/var/lib/iwd/Corp Net.8021x: "Corp Net": WPA2-EAP`,
		`/var/lib/iwd/Home-5G.psk: "Home-5G": WPA2/WPA3-PSK (passphrase shorter than 12 characters: a short passphrase can be guessed offline)`,
		`/var/lib/iwd/hexkey.psk: "hexkey": WPA2/WPA3-PSK (a 64-hex key: its passphrase is not checked)`,
		`/var/lib/iwd/office.psk: "office": WPA2/WPA3-PSK`,
	}
	if !reflect.DeepEqual(got.Evidence, wantEvidence) {
		t.Errorf("evidence\n%s\nwant\n%s", strings.Join(got.Evidence, "\n"), strings.Join(wantEvidence, "\n"))
	}
	out, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range wifiSecrets {
		if strings.Contains(string(out), s) {
			t.Errorf("the finding holds the secret %q: %s", s, out)
		}
	}
}

// TestWiFiFixes covers the fix of each source and of several networks.
func TestWiFiFixes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		fixtures []wifiFixture
		fix      string
	}{
		{"wpa_supplicant", []wifiFixture{wpaAt("wpa_supplicant.conf")},
			"remove the open network lobby (delete its network block at /etc/wpa_supplicant/wpa_supplicant.conf:13), " +
				"the WEP network printer (delete its network block at /etc/wpa_supplicant/wpa_supplicant.conf:18), " +
				"the WPA-TKIP network scanner (delete its network block at /etc/wpa_supplicant/wpa_supplicant.conf:25) and 1 more, " +
				"or secure them with WPA2/WPA3"},
		{"netplan", []wifiFixture{{"/run/netplan/wpa-wlan0.conf", "netplan/wpa-wlan0.conf"}},
			"remove the open network yard (remove it from /etc/netplan and run netplan apply) or secure it with WPA2/WPA3"},
		{"NetworkManager by its id", []wifiFixture{nmAt("warehouse.nmconnection"), nmAt("legacy.nmconnection")},
			"remove the WPA-TKIP network legacy (nmcli connection delete legacy) and the WEP network warehouse " +
				"(nmcli connection delete 'Warehouse WEP'), or secure them with WPA2/WPA3"},
		{"iwd", []wifiFixture{iwdAt("=636166c3a9.open")},
			"remove the open network café (iwctl known-networks 'café' forget) or secure it with WPA2/WPA3"},
		{"short passphrases", []wifiFixture{nmAt("lab.nmconnection"), iwdAt("Home-5G.psk")},
			"give lab and Home-5G passphrases of 12 characters or more, or move them to WPA3-SAE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wifiRun(wifiLayout(t, t.TempDir(), wlan0, tt.fixtures...)); got.Fix != tt.fix {
				t.Errorf("fix\n%s\nwant\n%s", got.Fix, tt.fix)
			}
		})
	}
}

func TestWiFiJudge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sec   wifiSec
		label string
		st    Status
	}{
		{wifiSec{auth: wifiOpen}, "open", Fail},
		{wifiSec{auth: wifiWEP}, "WEP", Fail},
		{wifiSec{auth: wifiDynamicWEP}, "dynamic WEP", Fail},
		{wifiSec{auth: wifiPSK, tkipOnly: true, pass: wifiPassLong}, "WPA-TKIP", Fail},
		{wifiSec{auth: wifiEAP, tkipOnly: true}, "WPA-TKIP", Fail},
		{wifiSec{auth: wifiPSK, wpa1Only: true, pass: wifiPassLong}, "WPA1", Fail},
		{wifiSec{auth: wifiPSK, pass: wifiPassShort}, "WPA2-PSK", Warn},
		{wifiSec{auth: wifiPSKSAE, pass: wifiPassShort}, "WPA2/WPA3-PSK", Warn},
		{wifiSec{auth: wifiOWE}, "OWE", Warn},
		{wifiSec{auth: wifiUnknownAuth, raw: "wpa-none"}, "unknown", Warn},
		{wifiSec{auth: wifiPSK, pass: wifiPassLong}, "WPA2-PSK", OK},
		{wifiSec{auth: wifiPSK, pass: wifiPassHex}, "WPA2-PSK", OK},
		{wifiSec{auth: wifiPSK, pass: wifiPassAbsent}, "WPA2-PSK", OK},
		// SAE resists offline guessing: a short password is no warning.
		{wifiSec{auth: wifiSAE, pass: wifiPassShort}, "WPA3-SAE", OK},
		{wifiSec{auth: wifiEAP}, "WPA2-EAP", OK},
		{wifiSec{auth: wifiEAPSuiteB}, "WPA3-EAP-192", OK},
		{wifiSec{auth: wifiDPP}, "DPP", OK},
	} {
		if label, st, _ := tt.sec.judge(); label != tt.label || st != tt.st {
			t.Errorf("%+v: %s %s, want %s %s", tt.sec, label, st, tt.label, tt.st)
		}
	}
	for p, want := range map[string]wifiPass{
		"": wifiPassAbsent, "12345678901": wifiPassShort, "123456789012": wifiPassLong, "ééééééééééé": wifiPassShort,
		strings.Repeat("ab", 32): wifiPassHex, strings.Repeat("xy", 32): wifiPassLong,
	} {
		if got := wifiPassOf(p); got != want {
			t.Errorf("wifiPassOf(%q) = %d, want %d", p, got, want)
		}
	}
}

func TestWiFiNames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    wifiNet
		want string
	}{
		{wifiNet{ssid: "office"}, "office"},
		{wifiNet{ssid: "My Home"}, "My Home"},
		{wifiNet{ssid: " padded"}, `" padded"`},
		{wifiNet{ssid: "a,b"}, `"a,b"`},
		{wifiNet{ssid: "bell\a"}, `"bell\a"`},
		{wifiNet{conn: "by id"}, "by id"},
		{wifiNet{}, "(no SSID)"},
	} {
		if got := tt.n.name(); got != tt.want {
			t.Errorf("name of %+v = %s, want %s", tt.n, got, tt.want)
		}
	}
	if got := wifiList([]string{"a", "b", "c", "d", "e"}); got != "a, b, c and 2 more" {
		t.Errorf("wifiList = %s", got)
	}
}

// wifiUnreadableEnv gives the child process the host root to check.
const wifiUnreadableEnv = "DOCTOR_TEST_WIFI_UNREADABLE"

// TestWiFiUnreadable needs a user that may not read NetworkManager's and
// iwd's files: as root it runs itself again as uid 65534.
func TestWiFiUnreadable(t *testing.T) {
	if root := os.Getenv(wifiUnreadableEnv); root != "" {
		wifiCheckUnreadable(t, root)
		return
	}
	// Directories the unprivileged user may enter.
	dir, err := os.MkdirTemp("", "doctor-wifi-")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "host")
	iwd := filepath.Join(root, "var/lib/iwd")
	home := filepath.Join(root, "etc/NetworkManager/system-connections/home.nmconnection")
	t.Cleanup(func() {
		os.Chmod(iwd, 0o700) // for a user that is not root to remove it
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	wifiLayout(t, root, wlan0, nmAt("home.nmconnection"), nmAt("office.nmconnection"), wpaAt("ok.conf"), iwdAt("office.psk"))
	// Readable by anyone: a profile written by hand, a default mode.
	for _, p := range []string{"etc/NetworkManager/system-connections/office.nmconnection", "etc/wpa_supplicant/ok.conf"} {
		if err := os.Chmod(filepath.Join(root, p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Unreadable by anyone: a link to itself.
	if err := os.Symlink("loop.nmconnection", filepath.Join(root, "etc/NetworkManager/system-connections/loop.nmconnection")); err != nil {
		t.Fatal(err)
	}
	// iwd's directory is root's alone.
	if err := os.Chmod(iwd, 0o700); err != nil {
		t.Fatal(err)
	}

	if os.Getuid() != 0 {
		// The files are this user's own: take its rights away.
		for _, p := range []string{home, iwd} {
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
		}
		wifiCheckUnreadable(t, root)
		return
	}

	// The test binary is in a directory private to root: run a copy.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "doctor.test")
	text, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, text, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestWiFiUnreadable$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOCOVERDIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, wifiUnreadableEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as uid 65534: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestWiFiUnreadable") {
		t.Fatalf("child did not run the check:\n%s", out)
	}
}

// wifiCheckUnreadable checks root's host as a user that may not read its
// NetworkManager profile home.nmconnection nor list /var/lib/iwd.
func wifiCheckUnreadable(t *testing.T, root string) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Fatal("the unreadable check cannot run as root")
	}
	nm := "/etc/NetworkManager/system-connections/"
	wifiWant(t, wifiRun(&Host{Root: root, Euid: os.Geteuid()}), Finding{ID: "wifi.security", Status: Skip,
		Summary: "3 configured WiFi networks (any may be joined): office (WPA2-PSK), floor (WPA3-SAE), radius (WPA2-EAP); " +
			"cannot read 3 network configuration files: run as root",
		Evidence: []string{
			"wireless interface: wlan0",
			nm + "home.nmconnection: unknown (cannot read it: run as root)",
			nm + "loop.nmconnection: unknown (cannot read it: too many levels of symbolic links)",
			nm + `office.nmconnection:14: "office": WPA2-PSK`,
			`/etc/wpa_supplicant/ok.conf:2: "floor": WPA3-SAE`,
			`/etc/wpa_supplicant/ok.conf:8: "radius": WPA2-EAP`,
			"/var/lib/iwd: unknown (cannot list it: run as root)",
		}})
	// Nothing readable at all: the summary says what to do, a skip shows
	// no evidence.
	h := &Host{Root: root, Euid: os.Geteuid()}
	unknown := append(nmNetworks(h)[:1], iwdNetworks(h)...)
	f := wifiFinding([]string{"wlan0"}, unknown)
	if f.Status != Skip || f.Summary != "cannot read 2 network configuration files: run as root" || f.Fix != "" {
		t.Errorf("only unknown networks: %+v", f)
	}
}
