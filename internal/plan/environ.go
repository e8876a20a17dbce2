package plan

import (
	"sort"
	"strings"

	"niod/internal/config"
)

// runtimeEnviron builds the runtime's environment from niod's: without the
// variables that belong to niod's own service manager (NOTIFY_SOCKET,
// WATCHDOG_*, LISTEN_*), niod's own NIOD_* options and the secret variables
// in drop; then set is applied (an empty value removes the variable).
func runtimeEnviron(environ []string, drop []string, set map[string]string) []string {
	dropped := map[string]bool{}
	for _, d := range drop {
		dropped[d] = true
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case dropped[k], k == "NOTIFY_SOCKET", k == "WATCHDOG_USEC", k == "WATCHDOG_PID",
			strings.HasPrefix(k, "LISTEN_"), strings.HasPrefix(k, config.EnvPrefix):
			continue
		}
		if _, ok := set[k]; ok {
			continue
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if set[k] != "" {
			out = append(out, k+"="+set[k])
		}
	}
	return out
}
