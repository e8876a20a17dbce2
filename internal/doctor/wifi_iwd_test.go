package doctor

import "testing"

func TestWiFiIWD(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Home-5G": "Home-5G", "Corp Net": "Corp Net", "=636166c3a9": "café", "=zz": "=zz"} {
		if got := iwdSSID(in); got != want {
			t.Errorf("iwdSSID(%q) = %q, want %q", in, got, want)
		}
	}
	for text, want := range map[string]wifiPass{
		"[Security]\nPassphrase=12345678901\n":                     wifiPassShort,
		"[Security]\nPassphrase=123456789012\nPreSharedKey=00ff\n": wifiPassLong,
		"[Security]\nPreSharedKey=00ff\n":                          wifiPassHex,
		"[Settings]\nPassphrase=not the security group\n":          wifiPassAbsent,
		"": wifiPassAbsent,
		"[Security]\n# Passphrase=commented out\nPassphrase=\\s\\s\n": wifiPassShort,
	} {
		if got := iwdPass(text); got != want {
			t.Errorf("iwdPass(%q) = %d, want %d", text, got, want)
		}
	}
}
