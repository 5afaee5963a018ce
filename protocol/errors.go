package protocol

import (
	"strings"
)

// Valkey's error replies, word for word. Clients and test suites match
// them: never change the strings.
const (
	ErrSyntax         = "ERR syntax error"
	ErrWrongType      = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrNotInteger     = "ERR value is not an integer or out of range"
	ErrNotFloat       = "ERR value is not a valid float"
	ErrOverflow       = "ERR increment or decrement would overflow"
	ErrNaN            = "ERR increment would produce NaN or Infinity"
	ErrNoSuchKey      = "ERR no such key"
	ErrIndexRange     = "ERR index out of range"
	ErrDBIndex        = "ERR DB index is out of range"
	ErrNoAuth         = "NOAUTH Authentication required."
	ErrWrongPass      = "WRONGPASS invalid username-password pair or user is disabled."
	ErrExecAbort      = "EXECABORT Transaction discarded because of previous errors."
	ErrMinMaxFloat    = "ERR min or max is not a float"
	ErrMinMaxLex      = "ERR min or max not valid string range item"
	ErrMaxClients     = "ERR max number of clients reached"
	ErrStringTooLong  = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	ErrHashNotInteger = "ERR hash value is not an integer"
	ErrHashNotFloat   = "ERR hash value is not a float"
	ErrNested         = "ERR MULTI calls can not be nested"
	ErrExecNoMulti    = "ERR EXEC without MULTI"
	ErrDiscardNoMulti = "ERR DISCARD without MULTI"
	ErrWatchInMulti   = "ERR WATCH inside MULTI is not allowed"
	ErrPositive       = "ERR value is out of range, must be positive"
)

// ErrArity returns the wrong-arity error for a command ("get", or
// "client|info" for subcommands).
func ErrArity(name string) string {
	return "ERR wrong number of arguments for '" + strings.ToLower(name) + "' command"
}

// ErrUnknownCommand returns Valkey's unknown-command error, which echoes up
// to 128 bytes of each of the first arguments.
func ErrUnknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(sanitize(args[0], 128))
	b.WriteString("', with args beginning with: ")
	var rest strings.Builder
	for _, a := range args[1:] {
		if rest.Len() >= 128 {
			break
		}
		rest.WriteString("'")
		rest.WriteString(sanitize(a, 128-rest.Len()))
		rest.WriteString("' ")
	}
	b.WriteString(rest.String())
	return b.String()
}

// ErrUnknownSubcommand returns the error for an unknown subcommand of
// container (e.g. "CONFIG"), as in "ERR unknown subcommand 'foo'. Try
// CONFIG HELP.".
func ErrUnknownSubcommand(container string, sub []byte) string {
	return "ERR unknown subcommand '" + sanitize(sub, 128) + "'. Try " + strings.ToUpper(container) + " HELP."
}

// sanitize turns bytes into text safe inside an error line (Valkey
// replaces newlines and truncates).
func sanitize(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	s := string(b)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}
