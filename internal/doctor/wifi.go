package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"niod/internal/shell"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// WiFiChecks are the checks of the host's WiFi: every network it is
// configured to join must use a strong encryption mechanism.
func WiFiChecks() []Check {
	// A container does not see the host's network configuration.
	return []Check{{ID: "wifi.security", Container: false, Run: wifiSecurity}}
}

// wifiMinPassphrase is the shortest WPA passphrase that is not warned of:
// a WPA2 handshake, once captured, lets anyone guess offline.
const wifiMinPassphrase = 12

// wifiSearched names the places the check reads, for its evidence.
const wifiSearched = "/etc/NetworkManager/system-connections, /run/NetworkManager/system-connections, " +
	"/usr/lib/NetworkManager/system-connections, /etc/wpa_supplicant/*.conf, /run/netplan/wpa-*.conf, /var/lib/iwd"

// wifiSecurity judges every WiFi network configured in NetworkManager,
// wpa_supplicant (netplan's generated files too) and iwd, the worst
// deciding: which one is in use right now is not in any file, and a device
// joins any network it knows that is in range. A host with a wireless
// interface and no network configured passes (nothing can join a weak
// network); a host with no wireless interface is skipped. A file it cannot
// read leaves its network unknown, which skips unless another fails or
// warns.
func wifiSecurity(h *Host) Finding {
	ifaces := wifiInterfaces(h)
	if len(ifaces) == 0 {
		return Finding{Status: Skip, Summary: "no wireless interface"}
	}
	var nets []wifiNet
	nets = append(nets, nmNetworks(h)...)
	nets = append(nets, wpaNetworks(h)...)
	nets = append(nets, iwdNetworks(h)...)
	return wifiFinding(ifaces, nets)
}

// wifiInterfaces are the wireless network interfaces: those sysfs gives a
// wireless directory (wireless extensions) or a phy80211 link (cfg80211).
func wifiInterfaces(h *Host) []string {
	entries, err := os.ReadDir(h.Path("/sys/class/net"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		dir := "/sys/class/net/" + e.Name()
		st, err := os.Stat(h.Path(dir + "/wireless"))
		if err == nil && st.IsDir() {
			out = append(out, e.Name())
			continue
		}
		// A link to the phy, not followed: its target is elsewhere in sysfs.
		if _, err := os.Lstat(h.Path(dir + "/phy80211")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// wifiAuth is how a network authenticates and encrypts, as configured.
type wifiAuth int

const (
	wifiOpen        wifiAuth = iota // no encryption
	wifiWEP                         // static WEP keys
	wifiDynamicWEP                  // 802.1X handing out WEP keys
	wifiPSK                         // WPA2 personal
	wifiPSKSAE                      // WPA2 or WPA3 personal, whichever the access point offers
	wifiSAE                         // WPA3 personal only
	wifiEAP                         // WPA2/WPA3 enterprise
	wifiEAPSuiteB                   // WPA3 enterprise, 192-bit
	wifiOWE                         // opportunistic wireless encryption
	wifiDPP                         // device provisioning protocol
	wifiUnknownAuth                 // a value this check does not know
)

// wifiPass is what a file tells of a WPA passphrase, never the passphrase.
type wifiPass int

const (
	wifiPassAbsent wifiPass = iota // not in the file (an agent, a keyring or another file holds it)
	wifiPassHex                    // a 64-hex key: the passphrase it came from is unknown
	wifiPassShort                  // shorter than wifiMinPassphrase
	wifiPassLong
)

// wifiPassOf classifies a passphrase as written in a file (unquoted,
// unescaped): a WPA passphrase has 8 to 63 characters, a raw key 64 hex
// digits.
func wifiPassOf(p string) wifiPass {
	switch {
	case p == "":
		return wifiPassAbsent
	case len(p) == 64 && wifiIsHex(p):
		return wifiPassHex
	case utf8.RuneCountInString(p) < wifiMinPassphrase:
		return wifiPassShort
	}
	return wifiPassLong
}

// wifiSec is a network's security settings, whichever file they come from.
type wifiSec struct {
	auth     wifiAuth
	wpa1Only bool // the protocols allowed are WPA version 1 only
	tkipOnly bool // the pairwise or the group ciphers allowed are TKIP (or WEP) only
	pass     wifiPass
	raw      string // the key management as written, for wifiUnknownAuth
}

// judge is the verdict on s: a label for the summary, the status, and why
// (a remark when ok).
func (s wifiSec) judge() (label string, st Status, why string) {
	const brokenWEP = "WEP is broken: its key is recovered in minutes"
	switch s.auth {
	case wifiOpen:
		return "open", Fail, "no encryption: anyone in range reads the traffic"
	case wifiWEP:
		return "WEP", Fail, brokenWEP
	case wifiDynamicWEP:
		return "dynamic WEP", Fail, brokenWEP
	case wifiOWE:
		return "OWE", Warn, "encrypted but the access point is not authenticated: anyone can pose as it"
	case wifiSAE:
		return "WPA3-SAE", OK, ""
	case wifiEAPSuiteB:
		return "WPA3-EAP-192", OK, ""
	case wifiDPP:
		return "DPP", OK, ""
	case wifiUnknownAuth:
		if s.raw == "" {
			return "unknown", Warn, "no key management set"
		}
		return "unknown", Warn, "key management " + strconv.Quote(s.raw) + " is not one this check knows"
	}
	// WPA personal or enterprise: the protocol version and cipher matter.
	if s.tkipOnly {
		return "WPA-TKIP", Fail, "TKIP is deprecated and broken"
	}
	if s.wpa1Only {
		return "WPA1", Fail, "WPA version 1 is deprecated"
	}
	if s.auth == wifiEAP {
		return "WPA2-EAP", OK, ""
	}
	label = "WPA2-PSK"
	if s.auth == wifiPSKSAE {
		label = "WPA2/WPA3-PSK"
	}
	switch s.pass {
	case wifiPassShort:
		return label, Warn, fmt.Sprintf("passphrase shorter than %d characters: a short passphrase can be guessed offline", wifiMinPassphrase)
	case wifiPassHex:
		return label, OK, "a 64-hex key: its passphrase is not checked"
	case wifiPassAbsent:
		return label, OK, "passphrase not in the file: not checked"
	}
	return label, OK, ""
}

// wifiSource is the program whose file configures a network.
type wifiSource int

const (
	wifiFromNM wifiSource = iota
	wifiFromWPA
	wifiFromIWD
)

// wifiNet is one configured network, judged.
type wifiNet struct {
	file   string // the file (or directory) on the host
	line   int    // where the network starts; 0: the whole file
	ssid   string
	conn   string // NetworkManager's connection id
	from   wifiSource
	sec    wifiSec
	label  string
	status Status // Skip: unknown, the file cannot be read
	why    string
	root   bool // unknown for want of root
}

// wifiJudged is the network at file:line, judged by its settings.
func wifiJudged(file string, line int, ssid, conn string, from wifiSource, sec wifiSec) wifiNet {
	n := wifiNet{file: file, line: line, ssid: ssid, conn: conn, from: from, sec: sec}
	n.label, n.status, n.why = sec.judge()
	return n
}

// wifiUnknown is the network (or networks) of a file or directory that
// cannot be read; verb is "read" or "list".
func wifiUnknown(h *Host, file string, from wifiSource, verb string, err error) wifiNet {
	n := wifiNet{file: file, from: from, label: "unknown", status: Skip}
	if errors.Is(err, fs.ErrPermission) && h.Euid != 0 {
		n.why, n.root = "cannot "+verb+" it: run as root", true
		return n
	}
	n.why = "cannot " + verb + " it: " + errReason(err)
	return n
}

// wifiFiles lists the files of dir that keep accepts, in name order, as
// host paths. A directory that is absent holds none; one that cannot be
// listed is an unknown network.
func wifiFiles(h *Host, dir string, from wifiSource, keep func(name string) bool) ([]string, []wifiNet) {
	entries, err := os.ReadDir(h.Path(dir))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, []wifiNet{wifiUnknown(h, dir, from, "list", err)}
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && keep(e.Name()) {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// wifiRead reads file; one that cannot be read is an unknown network.
func wifiRead(h *Host, file string, from wifiSource) (string, []wifiNet) {
	text, err := h.ReadFile(file)
	if err != nil {
		return "", []wifiNet{wifiUnknown(h, file, from, "read", err)}
	}
	return text, nil
}

// name is how the summary and the fix name n: its SSID, else its
// connection id, shown quoted when it would not read plainly.
func (n wifiNet) name() string {
	s := n.ssid
	if s == "" {
		s = n.conn
	}
	if s == "" {
		return "(no SSID)"
	}
	plain := strings.TrimSpace(s) == s && !strings.ContainsAny(s, ",()\"")
	for _, r := range s {
		plain = plain && unicode.IsPrint(r)
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}

// evidence is n's line of evidence: where, which network, what security.
// It never holds a secret: a passphrase is only said to be short.
func (n wifiNet) evidence() string {
	where := n.file
	if n.line > 0 {
		where = fmt.Sprintf("%s:%d", n.file, n.line)
	}
	if n.status == Skip {
		return where + ": unknown (" + n.why + ")"
	}
	s := where + ": " + strconv.Quote(n.ssid)
	if n.conn != "" && n.conn != n.ssid {
		s += " (connection " + strconv.Quote(n.conn) + ")"
	}
	s += ": " + n.label
	if n.why != "" {
		s += " (" + n.why + ")"
	}
	return s
}

// removal says how to remove n.
func (n wifiNet) removal() string {
	generated := "remove it from /etc/netplan and run netplan apply"
	switch n.from {
	case wifiFromNM:
		if strings.HasPrefix(n.file, "/run/NetworkManager/") && strings.HasPrefix(path.Base(n.file), "netplan-") {
			return generated
		}
		if n.conn == "" {
			return "rm " + shell.Quote(n.file) + " && nmcli connection reload"
		}
		return "nmcli connection delete " + shell.Quote(n.conn)
	case wifiFromWPA:
		if strings.HasPrefix(n.file, "/run/netplan/") {
			return generated
		}
		return fmt.Sprintf("delete its network block at %s:%d", n.file, n.line)
	}
	return "iwctl known-networks " + shell.Quote(n.ssid) + " forget"
}

// wifiRank orders statuses worst first; an unknown network ranks below
// warn (it may be fine) and above ok (it may not).
func wifiRank(s Status) int {
	switch s {
	case Fail:
		return 0
	case Warn:
		return 1
	case Skip:
		return 2
	}
	return 3
}

// wifiFinding is the finding on the networks found, the worst deciding.
func wifiFinding(ifaces []string, nets []wifiNet) Finding {
	word := "wireless interface: "
	if len(ifaces) > 1 {
		word = "wireless interfaces: "
	}
	evidence := []string{word + strings.Join(ifaces, ", ")}
	if len(nets) == 0 {
		evidence = append(evidence, "searched: "+wifiSearched)
		return Finding{Status: OK, Summary: "no WiFi network configured", Evidence: evidence}
	}
	st := OK
	for _, n := range nets {
		evidence = append(evidence, n.evidence())
		if wifiRank(n.status) < wifiRank(st) {
			st = n.status
		}
	}
	return Finding{Status: st, Summary: wifiSummary(nets), Evidence: evidence, Fix: wifiFix(nets, st)}
}

// wifiSummaryMax is how many networks the summary names; the evidence
// has them all.
const wifiSummaryMax = 6

// wifiSummary names the networks, worst first, and counts the files that
// could not be read.
func wifiSummary(nets []wifiNet) string {
	var known []wifiNet
	unknown, root := 0, false
	for _, n := range nets {
		if n.status == Skip {
			unknown++
			root = root || n.root
			continue
		}
		known = append(known, n)
	}
	slices.SortStableFunc(known, func(a, b wifiNet) int { return wifiRank(a.status) - wifiRank(b.status) })
	var parts []string
	if len(known) > 0 {
		var names []string
		for i, n := range known {
			if i == wifiSummaryMax {
				names = append(names, fmt.Sprintf("%d more", len(known)-i))
				break
			}
			names = append(names, n.name()+" ("+n.label+")")
		}
		head := "1 configured WiFi network: "
		if len(known) > 1 {
			head = fmt.Sprintf("%d configured WiFi networks (any may be joined): ", len(known))
		}
		parts = append(parts, head+strings.Join(names, ", "))
	}
	if unknown > 0 {
		s := fmt.Sprintf("cannot read %d network configuration %s", unknown, wifiPlural(unknown, "file", "files"))
		if root {
			s += ": run as root"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// wifiFixMax is how many networks a fix names.
const wifiFixMax = 3

// wifiFix is what to do about the networks of status st (fail or warn).
func wifiFix(nets []wifiNet, st Status) string {
	var bad, short, owe, odd []wifiNet
	for _, n := range nets {
		switch {
		case n.status != st:
		case st == Fail:
			bad = append(bad, n)
		case n.sec.auth == wifiOWE:
			owe = append(owe, n)
		case n.sec.auth == wifiUnknownAuth:
			odd = append(odd, n)
		case st == Warn:
			short = append(short, n)
		}
	}
	if st == Fail {
		var items []string
		for _, n := range bad {
			items = append(items, fmt.Sprintf("the %s network %s (%s)", n.label, n.name(), n.removal()))
		}
		if len(bad) == 1 {
			return "remove " + items[0] + " or secure it with WPA2/WPA3"
		}
		return "remove " + wifiList(items) + ", or secure them with WPA2/WPA3"
	}
	var fixes []string
	names := func(ns []wifiNet) string {
		var out []string
		for _, n := range ns {
			out = append(out, n.name())
		}
		return wifiList(out)
	}
	if len(short) == 1 {
		fixes = append(fixes, fmt.Sprintf("give %s a passphrase of %d characters or more, or move it to WPA3-SAE", names(short), wifiMinPassphrase))
	} else if len(short) > 1 {
		fixes = append(fixes, fmt.Sprintf("give %s passphrases of %d characters or more, or move them to WPA3-SAE", names(short), wifiMinPassphrase))
	}
	if len(owe) > 0 {
		fixes = append(fixes, "use WPA2/WPA3 instead of OWE for "+names(owe))
	}
	if len(odd) > 0 {
		fixes = append(fixes, "set a WPA2/WPA3 key management for "+names(odd))
	}
	return strings.Join(fixes, "; ")
}

// wifiList joins items as English does ("a, b and c"), naming at most
// wifiFixMax.
func wifiList(items []string) string {
	if len(items) > wifiFixMax {
		items = append(items[:wifiFixMax:wifiFixMax], fmt.Sprintf("%d more", len(items)-wifiFixMax))
	}
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func wifiPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func wifiIsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return false
		}
	}
	return s != ""
}

// wifiKeyfile is a file of the GLib keyfile syntax NetworkManager and iwd
// write: [group] headers, key=value lines, # comments.
type wifiKeyfile struct {
	values  map[string]map[string]wifiValue // group, then key
	headers map[string]int                  // a group's header line
}

// wifiValue is one value of a keyfile, unescaped, with its line.
type wifiValue struct {
	text string
	line int
}

// parseWiFiKeyfile parses text; a later key or group adds to (and
// overrides) an earlier one, as GLib does.
func parseWiFiKeyfile(text string) wifiKeyfile {
	k := wifiKeyfile{values: map[string]map[string]wifiValue{}, headers: map[string]int{}}
	group := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(strings.TrimRight(line, "\r"), " \t")
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			if end := strings.IndexByte(line, ']'); end > 0 {
				group = line[1:end]
				if _, ok := k.headers[group]; !ok {
					k.headers[group] = i + 1
				}
			}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || group == "" {
				continue
			}
			if k.values[group] == nil {
				k.values[group] = map[string]wifiValue{}
			}
			k.values[group][strings.TrimSpace(key)] = wifiValue{wifiUnescape(strings.TrimLeft(value, " \t")), i + 1}
		}
	}
	return k
}

// get is key's value in the first of groups that has it.
func (k wifiKeyfile) get(key string, groups ...string) (wifiValue, bool) {
	for _, g := range groups {
		if v, ok := k.values[g][key]; ok {
			return v, true
		}
	}
	return wifiValue{}, false
}

// group says whether any of groups is in the file, and the first one's
// header line.
func (k wifiKeyfile) group(groups ...string) (int, bool) {
	for _, g := range groups {
		if line, ok := k.headers[g]; ok {
			return line, true
		}
	}
	return 0, false
}

// wifiUnescape undoes a keyfile's escapes (\s \n \t \r \\).
func wifiUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if j := strings.IndexByte(`sntr\`, s[i+1]); j >= 0 {
				b.WriteByte(" \n\t\r\\"[j])
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// wifiTokens splits a list value (";" or space separated) into lower-case
// tokens.
func wifiTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ';' || r == ' ' || r == '\t' })
}

// wifiOnly says whether tokens is not empty and holds only values of
// allowed.
func wifiOnly(tokens []string, allowed ...string) bool {
	for _, t := range tokens {
		if !slices.Contains(allowed, t) {
			return false
		}
	}
	return len(tokens) > 0
}
