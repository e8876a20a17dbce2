package plan

import (
	"niod/internal/config"
	"niod/internal/securefile"
)

// stampFiles records the settings files as they are now (just after they
// were read), so that niod status can say which changed on disk since.
func stampFiles(root string, names []string) []securefile.Stamp {
	out := make([]securefile.Stamp, 0, len(names))
	for _, name := range names {
		out = append(out, securefile.StampOf(config.RootPath(root, name)))
	}
	return out
}
