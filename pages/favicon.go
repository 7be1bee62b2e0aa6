package pages

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"sync"
)

// favicon is /favicon.ico, which every browser asks for: a 32×32 icon, a
// white "I" on Intake's blue, drawn once (an ICO holding a PNG, as ICO
// has allowed since Windows Vista and every browser reads).
var favicon = sync.OnceValue(func() []byte {
	const size = 32
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue, white := color.NRGBA{0x2f, 0x6f, 0xeb, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := range size {
		for x := range size {
			// A square with its corners cut, and the letter's stem and serifs.
			corner := (x < 3 || x > size-4) && (y < 3 || y > size-4)
			stem := x >= 14 && x <= 17 && y >= 7 && y <= 24
			serif := (y >= 7 && y <= 9 || y >= 22 && y <= 24) && x >= 10 && x <= 21
			switch {
			case corner:
			case stem || serif:
				img.Set(x, y, white)
			default:
				img.Set(x, y, blue)
			}
		}
	}
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		panic(err)
	}
	var ico bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), one image; ICONDIRENTRY: 32×32,
	// no palette, 1 plane, 32 bits, the PNG's size and its offset (22).
	binary.Write(&ico, binary.LittleEndian, []uint16{0, 1, 1})
	ico.Write([]byte{size, size, 0, 0})
	binary.Write(&ico, binary.LittleEndian, []uint16{1, 32})
	binary.Write(&ico, binary.LittleEndian, []uint32{uint32(p.Len()), 22})
	ico.Write(p.Bytes())
	return ico.Bytes()
})

// Favicon serves /favicon.ico.
func (p *Pages) Favicon(w http.ResponseWriter, r *http.Request) {
	b := favicon()
	h := w.Header()
	h.Set("Content-Type", "image/x-icon")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}
