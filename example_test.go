package troupe_test

import (
	"errors"
	"fmt"

	"github.com/troupe-go/troupe"
)

func ExampleDecodeEnvelope() {
	env, err := troupe.DecodeEnvelope([]byte(`{"v":1,"kind":"request","name":"todo.list",
		"id":"01JDQ6Y8Z4A5B6C7D8E9F0GHJK","sender":{"service":"web","instance":"web-1"},
		"sentAt":"2026-11-26T16:00:00Z","deadline":"2026-11-26T16:00:01Z","payload":{"list":"groceries"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(env.Kind, env.Name, env.Sender, env.Deadline.Sub(env.SentAt), string(env.Payload))
	fmt.Println(env.ActivityID == env.ID) // the activity defaults to the envelope's own ID

	_, err = troupe.DecodeEnvelope([]byte(`{"v":1,"kind":"request","name":"todo list"}`))
	fmt.Println(err, errors.Is(err, troupe.ErrBadRequest))
	// Output:
	// request todo.list web/web-1 1s {"list":"groceries"}
	// true
	// envelope: name "todo list" has a character other than letters, digits, '.', '_' and '-' true
}

// A transport whose client library hands it each message in a buffer of its
// own decodes it in place: the envelope is made of the buffer, which nothing
// may change afterwards.
func ExampleDecodeEnvelopeOwned() {
	onMessage := func(data []byte) { // data is the transport's, given up here
		env, err := troupe.DecodeEnvelopeOwned(data)
		if err != nil {
			fmt.Println("dropped:", err)
			return
		}
		fmt.Println(env.Name, string(env.Payload))
	}
	onMessage([]byte(`{"v":1,"kind":"send","name":"todo.created","id":"01JDQ6Y8Z4A5B6C7D8E9F0GHJK",` +
		`"sender":{"service":"todo","instance":"todo-1"},"sentAt":"2026-11-26T16:00:00Z","payload":{"id":7}}`))
	onMessage([]byte(`{"v":2}`))
	// Output:
	// todo.created {"id":7}
	// dropped: envelope: unsupported version 2 (want 1)
}

func ExampleEnvelope_Err() {
	env := &troupe.Envelope{
		Kind:    troupe.KindReply,
		Name:    troupe.ErrorName,
		Payload: []byte(`{"code":"internal","msg":"handler crashed","incident":"01JDQ6Y8ZCCCCCCCCCCCCCCCCC"}`),
	}
	err := env.Err()
	fmt.Println(err)
	fmt.Println(errors.Is(err, troupe.ErrInternal), troupe.CodeOf(err))
	// Output:
	// handler crashed (incident 01JDQ6Y8ZCCCCCCCCCCCCCCCCC)
	// true internal
}

func ExampleCodeOf() {
	err := fmt.Errorf("bus: request %q: %w", "todo.get", troupe.Errorf(troupe.CodeNotFound, "no todo 7"))
	fmt.Println(troupe.CodeOf(err), errors.Is(err, troupe.ErrNotFound))
	fmt.Println(troupe.CodeOf(errors.New("disk on fire")))
	// Output:
	// not_found true
	// internal
}

func ExampleValidID() {
	fmt.Println(troupe.ValidID(troupe.NewID()), len(troupe.NewID()))
	fmt.Println(troupe.ValidID("01ARZ3NDEKTSV4RRFFQ69G5FAV"), troupe.ValidID("not-an-id"))
	// Output:
	// true 26
	// true false
}
