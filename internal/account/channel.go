package account

import "fmt"

// Channel is how a notification reaches its recipient.
type Channel int

const (
	// ChannelEmail is a mail to an address (the zero value: every message
	// queued before text messages existed is one).
	ChannelEmail Channel = iota
	// ChannelSMS is a text message: Recipient is an E.164 number and
	// Subject is empty. The outbox blanks its body once it is delivered,
	// since a text usually carries a short-lived code.
	ChannelSMS
)

// String is the channel as the outbox stores and lists it.
func (c Channel) String() string {
	switch c {
	case ChannelEmail:
		return "email"
	case ChannelSMS:
		return "sms"
	}
	return fmt.Sprintf("channel(%d)", int(c))
}

// ParseChannel reads a stored channel name.
func ParseChannel(s string) (Channel, error) {
	switch s {
	case "email":
		return ChannelEmail, nil
	case "sms":
		return ChannelSMS, nil
	}
	return 0, fmt.Errorf("account: unknown notification channel %q", s)
}

// Channels are the channels a message may take, in the order the outbox
// reports them.
var Channels = []Channel{ChannelEmail, ChannelSMS}
