package doctor

import (
	"encoding/hex"
	"path"
	"strings"
)

// iwdDir is iwd's state directory, one file a known network.
const iwdDir = "/var/lib/iwd"

// iwdNetworks are iwd's known networks. The file's extension is the
// network's security: .open (open, or OWE, which iwd also joins without
// authenticating the access point), .8021x (enterprise), .psk (WPA2 or
// WPA3 personal, whichever the access point offers); only a .psk file is
// read, for its passphrase.
func iwdNetworks(h *Host) []wifiNet {
	files, out := wifiFiles(h, iwdDir, wifiFromIWD, func(name string) bool {
		ext := path.Ext(name)
		return len(name) > len(ext) && (ext == ".open" || ext == ".psk" || ext == ".8021x")
	})
	for _, f := range files {
		ext := path.Ext(f)
		ssid := iwdSSID(strings.TrimSuffix(path.Base(f), ext))
		switch ext {
		case ".open":
			out = append(out, wifiJudged(f, 0, ssid, "", wifiFromIWD, wifiSec{auth: wifiOpen}))
		case ".8021x":
			out = append(out, wifiJudged(f, 0, ssid, "", wifiFromIWD, wifiSec{auth: wifiEAP}))
		default:
			text, unknown := wifiRead(h, f, wifiFromIWD)
			if unknown != nil {
				out = append(out, unknown...)
				continue
			}
			out = append(out, wifiJudged(f, 0, ssid, "", wifiFromIWD, wifiSec{auth: wifiPSKSAE, pass: iwdPass(text)}))
		}
	}
	return out
}

// iwdSSID decodes a file name: the SSID itself when it is letters, digits,
// spaces, underscores and minus signs only, else "=" and its hex.
func iwdSSID(name string) string {
	if h, ok := strings.CutPrefix(name, "="); ok {
		if b, err := hex.DecodeString(h); err == nil {
			return string(b)
		}
	}
	return name
}

// iwdPass is what a .psk file says of its passphrase: [Security]
// Passphrase, else PreSharedKey (the key, in hex).
func iwdPass(text string) wifiPass {
	k := parseWiFiKeyfile(text)
	if p, ok := k.get("Passphrase", "Security"); ok && p.text != "" {
		if wifiPassOf(p.text) == wifiPassShort {
			return wifiPassShort
		}
		return wifiPassLong
	}
	if psk, ok := k.get("PreSharedKey", "Security"); ok && psk.text != "" {
		return wifiPassHex
	}
	return wifiPassAbsent
}
