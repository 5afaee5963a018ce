package protocol

// DEBUG: only the subcommands test harnesses need.
func init() {
	Register(&Command{Name: "debug", Arity: -2, Flags: ReadOnly | Admin | NoScript | Loading | Stale, Group: "server", Summary: "A container for debugging commands.", Since: "1.0.0", Categories: []string{"admin", "slow", "dangerous"}})
}
