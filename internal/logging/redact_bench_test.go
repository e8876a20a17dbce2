package logging

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchSizes are the secret counts the benchmarks run with; going from 10k
// to 100k shows whether Add and Scrub grow linearly.
var benchSizes = []int{1_000, 10_000, 100_000}

// benchSecrets returns n distinct token-like secrets of 16 to 40 bytes, the
// kind of values niod's settings hold. The seed is fixed so runs compare.
func benchSecrets(n int) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	out := make([]string, n)
	b := make([]byte, 40)
	for i := range out {
		m := 16 + rng.IntN(25)
		for j := range m {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		// The index keeps the values distinct, as real secrets are.
		out[i] = fmt.Sprintf("%s-%d", b[:m], i)
	}
	return out
}

// BenchmarkRedactorAdd measures registering n secrets in one Add call, as
// niod does at start-up with every secret setting.
func BenchmarkRedactorAdd(b *testing.B) {
	for _, n := range benchSizes {
		secrets := benchSecrets(n)
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			for b.Loop() {
				NewRedactor().Add(secrets...)
			}
		})
	}
}

// BenchmarkRedactorAddNested is BenchmarkRedactorAdd with every secret
// inside another, "prefix-" + secret: the case in which Add must also work
// out, for states deep inside a secret, which shorter secret ending there
// stands as a token.
func BenchmarkRedactorAddNested(b *testing.B) {
	for _, n := range benchSizes {
		secrets := benchSecrets(n)
		for i := range n / 2 {
			secrets[n/2+i] = "a-longer-prefix-" + secrets[i]
		}
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			for b.Loop() {
				NewRedactor().Add(secrets...)
			}
		})
	}
}

// BenchmarkRedactorScrub measures scrubbing a 200-byte line against n
// secrets, once for a line without any secret (the common case) and once
// for a line carrying one as a token.
func BenchmarkRedactorScrub(b *testing.B) {
	for _, n := range benchSizes {
		secrets := benchSecrets(n)
		r := NewRedactor()
		r.Add(secrets...)
		filler := strings.Repeat("request served path=/api/v1/items status=200 ", 5)
		secret := secrets[n/2]
		lines := map[string]string{
			"clean":  filler[:200],
			"secret": filler[:99] + " " + secret + " " + filler[:99-len(secret)],
		}
		for _, kind := range []string{"clean", "secret"} {
			line := lines[kind]
			if len(line) != 200 {
				b.Fatalf("line is %d bytes, want 200", len(line))
			}
			b.Run(fmt.Sprintf("secrets=%d/%s", n, kind), func(b *testing.B) {
				b.SetBytes(int64(len(line)))
				for b.Loop() {
					if out := r.Scrub(line); (out == line) != (kind == "clean") {
						b.Fatalf("Scrub(%q) = %q", line, out)
					}
				}
			})
		}
	}
}
