package doctor_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/sio-dev/sio/pkg/doctor"
	"github.com/sio-dev/sio/pkg/server"
)

// Run checks a server and reports each check; a failure comes with its
// summary, cause and fixes. This server has no namespace /chat.
func ExampleRun() {
	srv := server.New(server.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	report, err := doctor.Run(context.Background(), doctor.Options{URL: hs.URL + "/chat", Pings: -1})
	if err != nil {
		panic(err) // only options it cannot use (a malformed URL)
	}
	for _, r := range report.Results {
		if r.Status == doctor.StatusFail {
			fmt.Println(r.Status.Symbol(), r.ID, r.Summary)
			fmt.Printf("  fix (%s): %s\n", r.Fixes[0].Where, r.Fixes[0].Change)
			continue
		}
		fmt.Println(r.Status.Symbol(), r.ID)
	}
	fmt.Println("works:", report.OK())
	// Output:
	// ✓ dns
	// ✓ tcp
	// ✓ http
	// ✓ path
	// ✓ version
	// ✓ polling
	// ✓ websocket
	// ✓ upgrade
	// ✓ sticky
	// ✗ namespace the server has no namespace /chat
	//   fix (server): io.of("/chat").on("connection", …)
	// - heartbeat
	// works: false
}
