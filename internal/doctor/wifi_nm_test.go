package doctor

import "testing"

func TestWiFiNMProfileName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		anyName bool
		want    bool
	}{
		{"office.nmconnection", true, true},
		{"office.nmconnection", false, true},
		{"Wired connection 1", true, true}, // written before the extension
		{"Wired connection 1", false, false},
		{".nmconnection", false, false},
		{".office.nmconnection", true, false},
		{"office.nmconnection~", true, false},
		{"office.nmconnection.Ab12Cd", true, false}, // a temporary file
		{"client.pem", true, false},
		{"ca.DER", true, false},
		{"6a1f2c3e.nmmeta", true, false},
	} {
		if got := nmProfileName(tt.name, tt.anyName); got != tt.want {
			t.Errorf("nmProfileName(%q, %v) = %v", tt.name, tt.anyName, got)
		}
	}
}

func TestWiFiNMKeyfile(t *testing.T) {
	t.Parallel()
	k := parseWiFiKeyfile("# comment\n[wifi]\r\nssid = a\\sb\\\\c\\x\n  mode=ap\nnokey\n[wifi-security]\nkey-mgmt=sae\n[wifi]\nssid=later\n")
	if v, _ := k.get("ssid", "wifi"); v.text != "later" || v.line != 9 {
		t.Errorf("ssid = %+v: a later key overrides", v)
	}
	k = parseWiFiKeyfile("[wifi]\nssid = a\\sb\\\\c\\x\n  mode=ap\n")
	if v, _ := k.get("ssid", "wifi"); v.text != `a b\c\x` || v.line != 2 {
		t.Errorf("ssid = %+v", v)
	}
	if v, ok := k.get("mode", "nothing", "wifi"); !ok || v.text != "ap" {
		t.Errorf("mode = %+v %v", v, ok)
	}
	if line, ok := k.group("wifi-security", "wifi"); !ok || line != 1 {
		t.Errorf("group = %d %v", line, ok)
	}
	for in, want := range map[string]string{"home": "home", "104;111;109;101;": "home", "104;111;109;101": "home", "1;300;": "1;300;", "a;b": "a;b"} {
		if got := nmSSID(in); got != want {
			t.Errorf("nmSSID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWiFiNMSecurity(t *testing.T) {
	t.Parallel()
	const head = "[connection]\nid=x\ntype=wifi\n[wifi]\nssid=x\n"
	for _, tt := range []struct {
		sec   string
		label string
		st    Status
	}{
		{"", "open", Fail},
		{"[wifi-security]\nkey-mgmt=none\n", "open", Fail},
		{"[wifi-security]\nkey-mgmt=none\nwep-key-flags=1\n", "WEP", Fail}, // the key is an agent's
		{"[wifi-security]\nkey-mgmt=ieee8021x\n", "dynamic WEP", Fail},
		{"[wifi-security]\nkey-mgmt=wpa-psk\npsk=long enough phrase\npairwise=ccmp;tkip;\ngroup=ccmp;tkip;\n", "WPA2-PSK", OK},
		{"[wifi-security]\nkey-mgmt=wpa-psk\npsk=long enough phrase\ngroup=tkip;\n", "WPA-TKIP", Fail},
		{"[wifi-security]\nkey-mgmt=wpa-psk\npsk=long enough phrase\nproto=wpa;rsn;\n", "WPA2-PSK", OK},
		{"[wifi-security]\nkey-mgmt=wpa-eap\nproto=wpa;\n", "WPA1", Fail},
		{"[wifi-security]\nkey-mgmt=WPA-PSK\npsk=\\sshort\n", "WPA2-PSK", Warn},
		{"[wifi-security]\nkey-mgmt=wpa-eap-suite-b-192\n", "WPA3-EAP-192", OK},
		{"[wifi-security]\nkey-mgmt=owe\n", "OWE", Warn},
		{"[wifi-security]\nkey-mgmt=wpa-none\n", "unknown", Warn},
		{"[wifi-security]\npsk=long enough phrase\n", "unknown", Warn},
	} {
		n, ok := nmNet("f", head+tt.sec)
		if !ok || n.label != tt.label || n.status != tt.st {
			t.Errorf("%q: %v %s %s (%s), want %s %s", tt.sec, ok, n.label, n.status, n.why, tt.label, tt.st)
		}
	}
	for _, text := range []string{"", "[connection]\ntype=ethernet\n", "[connection]\ntype=vpn\n[wifi-security]\nkey-mgmt=none\n"} {
		if _, ok := nmNet("f", text); ok {
			t.Errorf("%q is not a WiFi profile", text)
		}
	}
}
