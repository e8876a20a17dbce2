package doctor

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// aptConfDir holds apt's configuration, read in name order.
const aptConfDir = "/etc/apt/apt.conf.d"

// unattendedUpgrade is the program APT::Periodic runs to install updates.
const unattendedUpgrade = "/usr/bin/unattended-upgrade"

// UpdateChecks are the checks of how the system gets its security updates.
func UpdateChecks() []Check {
	return []Check{{ID: "updates.unattended", Run: unattendedUpdates}}
}

// aptUnattended reads the value of the setting that has apt install
// updates by itself from one line, `APT::Periodic::Unattended-Upgrade
// "1";` (apt's names are case-insensitive).
func aptUnattended(line string) (string, bool) {
	const name = "APT::Periodic::Unattended-Upgrade"
	s := strings.TrimLeft(line, " \t")
	if len(s) <= len(name) || !strings.EqualFold(s[:len(name)], name) {
		return "", false
	}
	rest := strings.TrimLeft(s[len(name):], " \t")
	if len(rest) == len(s)-len(name) || !strings.HasPrefix(rest, `"`) {
		return "", false
	}
	value, _, ok := strings.Cut(rest[1:], `"`)
	return value, ok
}

// aptPart says whether apt reads a file of apt.conf.d: one named of
// letters, digits, "_", "-" and ".", with no extension or ".conf".
func aptPart(name string) bool {
	if strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != "" {
		return false
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:] == ".conf"
	}
	return true
}

// unattendedUpdates checks that a Debian or Ubuntu system installs its
// security updates without waiting for someone to log in.
func unattendedUpdates(h *Host) Finding {
	if _, err := os.Stat(h.Path("/etc/debian_version")); err != nil {
		return Finding{Status: Skip, Summary: "not Debian or Ubuntu"}
	}
	entries, err := os.ReadDir(h.Path(aptConfDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return cannotRead(aptConfDir, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && aptPart(e.Name()) {
			names = append(names, e.Name())
		}
	}
	// os.ReadDir gives them in name order, as apt reads them.
	value, origin := "", ""
	for _, name := range names {
		p := aptConfDir + "/" + name
		text, err := h.ReadFile(p)
		if err != nil {
			return cannotRead(p, err)
		}
		// A later file, and a later line, overrides an earlier one.
		for _, line := range strings.Split(text, "\n") {
			if v, ok := aptUnattended(line); ok {
				value, origin = v, p+": "+strings.TrimSpace(line)
			}
		}
	}
	var evidence []string
	days, _ := strconv.Atoi(value)
	on := days >= 1
	if origin == "" {
		evidence = append(evidence, "APT::Periodic::Unattended-Upgrade unset in "+aptConfDir)
	} else {
		evidence = append(evidence, origin)
	}
	if _, err := os.Stat(h.Path(unattendedUpgrade)); err == nil {
		evidence = append(evidence, unattendedUpgrade+": present")
	} else {
		evidence = append(evidence, unattendedUpgrade+": absent")
		on = false
	}
	if on {
		return Finding{Status: OK, Summary: "security updates install unattended", Evidence: evidence}
	}
	return Finding{Status: Warn, Summary: "security updates wait for someone to install them", Evidence: evidence,
		Fix: "apt-get install unattended-upgrades && dpkg-reconfigure -plow unattended-upgrades"}
}
