package doctor

import "testing"

func TestWiFiWPALine(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"\tssid=\"a#b\" # comment ": `ssid="a#b"`,
		"# all comment":             "",
		"psk=abc#def":               "psk=abc",
		"  network={  ":             "network={",
	} {
		if got := wpaLine(in); got != want {
			t.Errorf("wpaLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWiFiWPAValues(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`"office"`: "office", `""`: "", "6f6666696365": "office", `P"caf\xc3\xa9\n"`: "café\n", `P"a\"b\\"`: `a"b\`, "zz": "zz",
	} {
		if got := wpaSSID(in); got != want {
			t.Errorf("wpaSSID(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]wifiPass{
		`"12345678901"`: wifiPassShort, `"123456789012"`: wifiPassLong, `""`: wifiPassAbsent, "": wifiPassAbsent,
		"ext:wifi_psk": wifiPassAbsent, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0": wifiPassHex,
	} {
		if got := wpaPass(in); got != want {
			t.Errorf("wpaPass(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestWiFiWPASecurity(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		block string
		label string
		st    Status
	}{
		// The default key management, decided by the keys the block has.
		{`psk="long enough phrase"`, "WPA2-PSK", OK},
		{"eap=TLS\nidentity=\"x\"", "WPA2-EAP", OK},
		{"", "WPA2-PSK", OK},
		// The weakest of several decides.
		{"key_mgmt=WPA-EAP NONE", "open", Fail},
		{"key_mgmt=SAE OWE", "OWE", Warn},
		{"key_mgmt=WPA-PSK SAE\npsk=\"long enough phrase\"", "WPA2/WPA3-PSK", OK},
		{"key_mgmt=FT-SAE SAE", "WPA3-SAE", OK},
		{"key_mgmt=IEEE8021X", "dynamic WEP", Fail},
		{"key_mgmt=WPA-PSK\nproto=RSN WPA\npairwise=CCMP TKIP\npsk=\"long enough phrase\"", "WPA2-PSK", OK},
		{"key_mgmt=WPA-PSK\nproto=WPA2\npairwise=TKIP\npsk=\"long enough phrase\"", "WPA-TKIP", Fail},
		{"key_mgmt=WPA-EAP-SUITE-B-192", "WPA3-EAP-192", OK},
		{"key_mgmt=DPP", "DPP", OK},
		{"key_mgmt=WPA-NONE", "unknown", Warn},
		{"key_mgmt=WPA-NONE SAE", "WPA3-SAE", OK},
	} {
		nets := parseWPAConf("f", "network={\n"+tt.block+"\n}\n")
		if len(nets) != 1 || nets[0].label != tt.label || nets[0].status != tt.st {
			t.Errorf("%q: %+v, want %s %s", tt.block, nets, tt.label, tt.st)
		}
	}
	// An unterminated block is no network; text outside blocks is ignored.
	if nets := parseWPAConf("f", "ssid=\"x\"\nnetwork={\nssid=\"y\"\n"); len(nets) != 0 {
		t.Errorf("unterminated: %+v", nets)
	}
}
