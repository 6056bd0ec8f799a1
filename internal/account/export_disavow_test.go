package account

// MailedKinds lists the events that are mailed to the user, and whether
// each carries a "This wasn't me" link, for the tests outside the package.
func MailedKinds() map[EventKind]bool {
	kinds := map[EventKind]bool{}
	for k := range notifications {
		kinds[k] = !withoutDisavowLink[k]
	}
	return kinds
}
