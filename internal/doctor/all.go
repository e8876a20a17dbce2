package doctor

// All is the checklist, in the order niod doctor prints it.
func All() []Check {
	var out []Check
	for _, group := range [][]Check{ClockChecks(), SwapChecks(), CoreChecks(), KernelChecks(), WiFiChecks(), SSHChecks(), UpdateChecks(), SandboxChecks(), ListenerChecks(), ProjectChecks()} {
		out = append(out, group...)
	}
	return out
}
