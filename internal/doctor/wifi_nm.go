package doctor

import (
	"strconv"
	"strings"
)

// nmDirs are where NetworkManager's keyfile plugin reads profiles; in
// /etc it reads any file but hidden, backup and temporary ones, elsewhere
// *.nmconnection only.
var nmDirs = []struct {
	dir     string
	anyName bool
}{
	{"/etc/NetworkManager/system-connections", true},
	{"/run/NetworkManager/system-connections", false},
	{"/usr/lib/NetworkManager/system-connections", false},
}

// nmNetworks are the WiFi profiles of NetworkManager.
func nmNetworks(h *Host) []wifiNet {
	var out []wifiNet
	for _, d := range nmDirs {
		files, unknown := wifiFiles(h, d.dir, wifiFromNM, func(name string) bool { return nmProfileName(name, d.anyName) })
		out = append(out, unknown...)
		for _, f := range files {
			text, unknown := wifiRead(h, f, wifiFromNM)
			out = append(out, unknown...)
			if unknown == nil {
				if n, ok := nmNet(f, text); ok {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// nmProfileName says whether NetworkManager reads a file of that name as
// a profile.
func nmProfileName(name string, anyName bool) bool {
	const ext = ".nmconnection"
	if !anyName {
		return len(name) > len(ext) && strings.HasSuffix(name, ext)
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		strings.HasSuffix(lower, ".pem") || strings.HasSuffix(lower, ".der") || strings.HasSuffix(lower, ".nmmeta") {
		return false
	}
	// g_file_set_contents' temporary files end in a dot and six letters or digits.
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 && len(name)-dot == 7 &&
		strings.Trim(name[dot+1:], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == "" {
		return false
	}
	return true
}

// nmNet is the network of a keyfile, false when it is not a WiFi profile.
func nmNet(file, text string) (wifiNet, bool) {
	k := parseWiFiKeyfile(text)
	if t, _ := k.get("type", "connection"); t.text != "wifi" && t.text != "802-11-wireless" {
		return wifiNet{}, false
	}
	id, _ := k.get("id", "connection")
	ssid, _ := k.get("ssid", "wifi", "802-11-wireless")
	sec, line := nmSecurity(k)
	return wifiJudged(file, line, nmSSID(ssid.text), id.text, wifiFromNM, sec), true
}

// nmSecurity is a profile's security and the line it is set at: no
// [wifi-security] group is an open network; key-mgmt=none is WEP when a WEP
// key or authentication is set, else open too.
func nmSecurity(k wifiKeyfile) (wifiSec, int) {
	groups := []string{"wifi-security", "802-11-wireless-security"}
	header, ok := k.group(groups...)
	if !ok {
		line, _ := k.group("wifi", "802-11-wireless")
		return wifiSec{auth: wifiOpen}, line
	}
	get := func(key string) string { v, _ := k.get(key, groups...); return v.text }
	km, ok := k.get("key-mgmt", groups...)
	line := header
	if ok {
		line = km.line
	}
	sec := wifiSec{raw: km.text}
	switch strings.ToLower(km.text) {
	case "none":
		sec.auth = wifiOpen
		for _, key := range []string{"wep-key0", "wep-key1", "wep-key2", "wep-key3", "wep-key-type", "wep-key-flags", "wep-tx-keyidx", "auth-alg"} {
			if get(key) != "" {
				sec.auth = wifiWEP
			}
		}
		return sec, line
	case "ieee8021x":
		sec.auth = wifiDynamicWEP
	case "wpa-psk":
		sec.auth = wifiPSK
	case "sae":
		sec.auth = wifiSAE
	case "wpa-eap":
		sec.auth = wifiEAP
	case "wpa-eap-suite-b-192":
		sec.auth = wifiEAPSuiteB
	case "owe":
		sec.auth = wifiOWE
	default:
		sec.auth = wifiUnknownAuth
		return sec, line
	}
	sec.pass = wifiPassOf(get("psk"))
	proto := wifiTokens(get("proto"))
	sec.wpa1Only = wifiOnly(proto, "wpa")
	sec.tkipOnly = wifiOnly(wifiTokens(get("pairwise")), "tkip") || wifiOnly(wifiTokens(get("group")), "tkip", "wep40", "wep104")
	return sec, line
}

// nmSSID decodes a keyfile's ssid: a string, or (for bytes that are not
// text) a list of decimal byte values ("104;111;109;101;").
func nmSSID(s string) string {
	if !strings.Contains(s, ";") || strings.Trim(s, "0123456789;") != "" {
		return s
	}
	var b []byte
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' }) {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			return s
		}
		b = append(b, byte(n))
	}
	return string(b)
}
