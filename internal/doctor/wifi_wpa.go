package doctor

import (
	"encoding/hex"
	"slices"
	"strings"
)

// wpaDirs are where wpa_supplicant's configuration is: its own directory,
// and the files netplan generates for it (networkd renderer).
var wpaDirs = []struct {
	dir            string
	prefix, suffix string
}{
	{"/etc/wpa_supplicant", "", ".conf"},
	{"/run/netplan", "wpa-", ".conf"},
}

// wpaNetworks are the network blocks of wpa_supplicant's configuration.
func wpaNetworks(h *Host) []wifiNet {
	var out []wifiNet
	for _, d := range wpaDirs {
		files, unknown := wifiFiles(h, d.dir, wifiFromWPA, func(name string) bool {
			return strings.HasPrefix(name, d.prefix) && strings.HasSuffix(name, d.suffix)
		})
		out = append(out, unknown...)
		for _, f := range files {
			text, unknown := wifiRead(h, f, wifiFromWPA)
			out = append(out, unknown...)
			out = append(out, parseWPAConf(f, text)...)
		}
	}
	return out
}

// wpaBlock is one network={...} block: its keys and its first line.
type wpaBlock struct {
	keys map[string]string
	line int
}

// parseWPAConf is the networks of a wpa_supplicant configuration file,
// in order.
func parseWPAConf(file, text string) []wifiNet {
	var blocks []wpaBlock
	var cur *wpaBlock
	for i, line := range strings.Split(text, "\n") {
		line = wpaLine(line)
		switch {
		case line == "":
		case cur == nil:
			if line == "network={" {
				cur = &wpaBlock{keys: map[string]string{}, line: i + 1}
			}
		case line == "}":
			blocks = append(blocks, *cur)
			cur = nil
		default:
			if key, value, ok := strings.Cut(line, "="); ok {
				cur.keys[strings.TrimSpace(key)] = strings.TrimSpace(value)
			}
		}
	}
	var out []wifiNet
	for _, b := range blocks {
		out = append(out, wifiJudged(file, b.line, wpaSSID(b.keys["ssid"]), "", wifiFromWPA, wpaSecurity(b.keys)))
	}
	return out
}

// wpaLine is a line without its comment (a # outside double quotes) and
// the space around it, as wpa_supplicant reads it.
func wpaLine(line string) string {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case '#':
			if !quoted {
				line = line[:i]
			}
		}
	}
	return strings.TrimSpace(line)
}

// wpaSecurity is a network block's security. wpa_supplicant's defaults
// apply to what is not set: key_mgmt WPA-PSK WPA-EAP, proto WPA RSN,
// pairwise CCMP TKIP; with several key managements allowed the weakest
// decides.
func wpaSecurity(keys map[string]string) wifiSec {
	km := strings.Fields(strings.ToUpper(keys["key_mgmt"]))
	if len(km) == 0 {
		// The default allows both; the block's keys say which one it is for.
		switch {
		case keys["psk"] != "" || keys["sae_password"] != "":
			km = []string{"WPA-PSK"}
		case keys["eap"] != "" || keys["identity"] != "":
			km = []string{"WPA-EAP"}
		default:
			km = []string{"WPA-PSK", "WPA-EAP"}
		}
	}
	base := wifiSec{
		pass:     wpaPass(keys["psk"]),
		wpa1Only: wifiOnly(wifiTokens(keys["proto"]), "wpa"),
		tkipOnly: wifiOnly(wifiTokens(keys["pairwise"]), "tkip", "none") || wifiOnly(wifiTokens(keys["group"]), "tkip", "wep40", "wep104"),
	}
	wep := false
	for _, k := range []string{"wep_key0", "wep_key1", "wep_key2", "wep_key3"} {
		wep = wep || keys[k] != ""
	}
	var auths []wifiAuth
	var unknown []string
	for _, m := range km {
		switch m {
		case "NONE":
			if wep {
				auths = append(auths, wifiWEP)
			} else {
				auths = append(auths, wifiOpen)
			}
		case "IEEE8021X":
			auths = append(auths, wifiDynamicWEP)
		case "WPA-PSK", "WPA-PSK-SHA256", "FT-PSK":
			auths = append(auths, wifiPSK)
		case "SAE", "FT-SAE", "SAE-EXT-KEY", "FT-SAE-EXT-KEY":
			auths = append(auths, wifiSAE)
		case "WPA-EAP", "WPA-EAP-SHA256", "FT-EAP", "FT-EAP-SHA384", "WPA-EAP-SHA384",
			"FILS-SHA256", "FILS-SHA384", "FT-FILS-SHA256", "FT-FILS-SHA384":
			auths = append(auths, wifiEAP)
		case "WPA-EAP-SUITE-B", "WPA-EAP-SUITE-B-192":
			auths = append(auths, wifiEAPSuiteB)
		case "OWE":
			auths = append(auths, wifiOWE)
		case "DPP":
			auths = append(auths, wifiDPP)
		default:
			unknown = append(unknown, m)
		}
	}
	if len(auths) == 0 {
		base.auth, base.raw = wifiUnknownAuth, strings.Join(unknown, " ")
		return base
	}
	// WPA2 and WPA3 personal together: the transition mode.
	if i, j := slices.Index(auths, wifiPSK), slices.Index(auths, wifiSAE); i >= 0 && j >= 0 {
		auths[i] = wifiPSKSAE
	}
	best := base
	best.auth = auths[0]
	_, worst, _ := best.judge()
	for _, a := range auths[1:] {
		s := base
		s.auth = a
		if _, st, _ := s.judge(); wifiRank(st) < wifiRank(worst) {
			best, worst = s, st
		}
	}
	return best
}

// wpaPass classifies a psk value: a quoted passphrase, 64 hex digits, or
// an external reference (ext:NAME) this check cannot follow.
func wpaPass(v string) wifiPass {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if p := v[1 : len(v)-1]; p != "" {
			if wifiPassOf(p) == wifiPassShort {
				return wifiPassShort
			}
			return wifiPassLong
		}
		return wifiPassAbsent
	}
	if len(v) == 64 && wifiIsHex(v) {
		return wifiPassHex
	}
	return wifiPassAbsent
}

// wpaSSID decodes an ssid value: "quoted", P"with escapes", or hex.
func wpaSSID(v string) string {
	switch {
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		return v[1 : len(v)-1]
	case len(v) >= 3 && v[0] == 'P' && v[1] == '"' && v[len(v)-1] == '"':
		return wpaPrintfDecode(v[2 : len(v)-1])
	}
	if b, err := hex.DecodeString(v); err == nil {
		return string(b)
	}
	return v
}

// wpaPrintfDecode undoes wpa_supplicant's printf escapes (\\ \" \n \r \t
// \e \xHH).
func wpaPrintfDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'e':
			b.WriteByte(0x1b)
		case 'x':
			if i+3 <= len(s) && wifiIsHex(s[i+1:i+3]) {
				x, _ := hex.DecodeString(s[i+1 : i+3])
				b.Write(x)
				i += 2
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
