package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// ErrBadSecret is returned for a secret that is not whsec_ + base64.
var ErrBadSecret = errors.New("webhook secret must be whsec_ followed by base64")

// Sign returns the Standard Webhooks v1 signature of one delivery attempt:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)), where
// key is the base64-decoded part of secret after "whsec_". It returns
// ErrBadSecret when secret does not decode.
func Sign(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return "", ErrBadSecret
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte("."))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
