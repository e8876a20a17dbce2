// Package shell quotes words for a POSIX shell, so that a command niod
// prints to fix a problem works when pasted as it is.
package shell

import "strings"

// Quote quotes s as one word: s itself when it holds only characters no
// shell treats specially, else s in single quotes, where a single quote of
// s closes them, is escaped with a backslash and opens them again.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each word with Quote and joins them with spaces: a command
// line that runs words as they are.
func Join(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}
