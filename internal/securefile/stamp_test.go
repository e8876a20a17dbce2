package securefile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nio.conf")
	if err := os.WriteFile(path, []byte("[s]\nk = v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := StampOf(path)
	if st.Changed() {
		t.Fatal("unchanged file reported changed")
	}
	// Same size, another time: changed.
	if err := os.Chtimes(path, time.Now(), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if !st.Changed() {
		t.Error("a new modification time is no change")
	}
	st = StampOf(path)
	// Replaced by another file (an editor's rename), same bytes.
	tmp := path + ".new"
	os.WriteFile(tmp, []byte("[s]\nk = v\n"), 0o600)
	os.Chtimes(tmp, time.Now(), time.Unix(1, 0))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if !st.Changed() {
		t.Error("a file replaced by rename is no change")
	}
	os.Remove(path)
	if !st.Changed() {
		t.Error("a removed file is no change")
	}
}
