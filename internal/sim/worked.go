package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/epiledger/epiledger/internal/ndjson"
)

// WorkedCasePatient is the canonical id of patient A ("甲") in WorkedCase.
const WorkedCasePatient = "420100199001011234"

// Sites of the worked case. The carriages are registered at the train's
// terminus, Shanghai railway station, so that the arrival, the taxi and the
// mall form a consistent trajectory, while the toll gate on the
// Hubei–Henan border is hundreds of kilometres from anything A did that
// afternoon.
const (
	wcTrain    = "G1234"
	wcCar4     = "G1234/04"
	wcCar5     = "G1234/05"
	wcCar6     = "G1234/06"
	wcTaxi     = "taxi-沪F54321"
	wcMall     = "mall-joycity-sh"
	wcCabin12  = "mall-joycity-sh/ferris-wheel-cabin-12"
	wcCabin13  = "mall-joycity-sh/ferris-wheel-cabin-13"
	wcCinema   = "mall-joycity-sh/cinema"
	wcHospital = "hospital-sh-1"
	wcToll     = "toll-hubei-henan-1"
)

// WorkedCase writes the worked case of seed 000, sec. 3.1, as a small
// self-contained world, and returns its truth: one case, A, with exactly 52
// contacts.
//
// On 2020-01-20 (+08:00) A rides car 5 of train G1234 from Wuhan (08:00) to
// Shanghai (12:00), moves straight into taxi 沪F54321 (12:10-12:40, paid
// with Alipay), rides Ferris wheel cabin 12 at Joy City with friend B
// (13:30-13:50, scanned with WeChat) and is seen at hospital-sh-1 from 15:30
// to 18:00, which reports A confirmed the next morning. Meanwhile A's
// husband drives A's car through a toll gate on the Hubei–Henan border at
// 14:00, a record that trajectory validation must reject. Friend C, who
// drove A to hospital, is recorded nowhere.
//
// The contacts are the taxi driver, B, and the 50 passengers of car 5 whose
// ride overlaps A's. The decoys are not: passengers of cars 4 and 6 at the
// same time, car-5 passengers who left before 08:00 or boarded at or after
// 12:00 (including two that touch A's ride at an instant), taxi passengers
// before and right after A, visitors of the mall itself, of its cinema and
// of the neighbouring cabin, cabin-12 riders before and after A, and
// hospital patients who do not overlap A. A's walk through the mall is not
// recorded by the mall: only the cabin recorded A.
func WorkedCase(w *ndjson.Writer) (*Truth, error) {
	cst := time.FixedZone("CST", 8*3600)
	start := time.Date(2020, 1, 20, 0, 0, 0, 0, cst)
	wd := newWorld(start, start.Add(48*time.Hour), w)

	// Sites, parents first.
	site := func(id, kind, name string, lat, lon float64, region, parent string) int32 {
		return wd.addSite(ndjson.Site{Site: id, Kind: kind, Name: name, Lat: lat, Lon: lon, Region: region, Parent: parent})
	}
	const shLat, shLon = 31.2497, 121.4555 // Shanghai railway station
	// The train's route (Wuhan station to Shanghai station) places a
	// passenger at Wuhan when boarding and at Shanghai when alighting; its
	// carriages inherit it.
	wd.addSite(ndjson.Site{Site: wcTrain, Kind: "train", Name: "G1234 Wuhan-Shanghai", Lat: shLat, Lon: shLon, Region: "310100",
		Origin: &[2]float64{30.6070, 114.4244}, Destination: &[2]float64{shLat, shLon}})
	car4 := site(wcCar4, "train_carriage", "G1234 car 4", shLat, shLon, "310100", wcTrain)
	car5 := site(wcCar5, "train_carriage", "G1234 car 5", shLat, shLon, "310100", wcTrain)
	car6 := site(wcCar6, "train_carriage", "G1234 car 6", shLat, shLon, "310100", wcTrain)
	taxi := site(wcTaxi, "taxi", "Taxi 沪F54321", 31.2480, 121.4580, "310100", "")
	mallS := site(wcMall, "mall", "Joy City Shanghai", 31.2436, 121.4700, "310100", "")
	cabin12 := site(wcCabin12, "venue", "Ferris wheel cabin 12", 31.2436, 121.4700, "310100", wcMall)
	cabin13 := site(wcCabin13, "venue", "Ferris wheel cabin 13", 31.2436, 121.4700, "310100", wcMall)
	cinema := site(wcCinema, "venue", "Cinema", 31.2436, 121.4700, "310100", wcMall)
	hosp := site(wcHospital, "hospital", "Shanghai hospital 1", 31.2118, 121.4680, "310100", "")
	toll := site(wcToll, "toll_gate", "Expressway toll gate, Hubei-Henan border", 31.7, 114.1, "420000", "")

	// People. Everyone but A is a synthetic resident with a phone alias.
	a := wd.addIdent(WorkedCasePatient, "phone:13800000000", "plate:鄂A12345", "alipay:2088000000000001", "wechat:wx_patient")
	const (
		aPlate  = 2
		aAlipay = 3
		aWechat = 4
	)
	serial := 0
	someone := func(prefix string) int32 {
		serial++
		return wd.addIdent(idNumber(prefix, serial), fmt.Sprintf("phone:139%08d", serial))
	}
	at := func(h, m int) int64 { return hm(h, m) }
	visit := func(s, p int32, in, out int64, via uint8) { wd.visit(s, p, in, out, via, 0, false) }
	group := func(s int32, n int, in, out int64, prefix string) {
		for range n {
			visit(s, someone(prefix), in, out, viaIDCard)
		}
	}

	// Node A: the train. A and the passengers of car 5 whose rides overlap
	// A's (Yichang 06:10, Wuhan 08:00, Hefei 10:05, Nanjing 11:05,
	// Shanghai 12:00).
	visit(car5, a, at(8, 0), at(12, 0), viaIDCard)
	const wuhan, hubei = "4201001988", "4205001985"
	group(car5, 30, at(8, 0), at(12, 0), wuhan)
	group(car5, 6, at(6, 10), at(12, 0), hubei)
	group(car5, 4, at(6, 10), at(10, 5), hubei)
	group(car5, 4, at(8, 0), at(11, 5), wuhan)
	group(car5, 3, at(10, 5), at(12, 0), "3401001991")
	group(car5, 3, at(11, 5), at(12, 0), "3201001992")
	// Car 5 before and after A; two of them touch A's ride at an instant.
	group(car5, 2, at(6, 10), at(7, 55), hubei)
	group(car5, 1, at(6, 10), at(8, 0), hubei)
	group(car5, 1, at(12, 0), at(16, 10), "3101011980")
	group(car5, 2, at(12, 30), at(16, 40), "3101011980")
	// Cars 4 and 6 at the same time as A.
	group(car4, 10, at(8, 0), at(12, 0), wuhan)
	group(car6, 5, at(8, 0), at(12, 0), wuhan)
	group(car6, 5, at(6, 10), at(11, 5), hubei)

	// Node B: the taxi, straight from the carriage.
	const sh = "3101011980"
	wd.move(a, car5, taxi, at(12, 0), at(12, 10), viaIDCard, 0)
	wd.visit(taxi, someone(sh), at(7, 0), at(19, 0), viaStaffCard, 0, true) // the driver
	wd.visit(taxi, a, at(12, 10), at(12, 40), viaPayment, aAlipay, false)
	visit(taxi, someone(sh), at(11, 0), at(11, 30), viaPayment)
	visit(taxi, someone(sh), at(12, 40), at(13, 5), viaPayment)

	// Node C: the Ferris wheel, with friend B, who walked the mall too.
	wd.visit(cabin12, a, at(13, 30), at(13, 50), viaWechat, aWechat, false)
	friend := someone(sh)
	visit(mallS, friend, at(12, 30), at(13, 25), viaFace)
	visit(cabin12, friend, at(13, 30), at(13, 50), viaPhone)
	visit(mallS, friend, at(13, 55), at(15, 0), viaFace)
	for range 8 {
		visit(mallS, someone(sh), at(12, 45), at(15, 0), viaFace)
	}
	for range 5 {
		visit(cinema, someone(sh), at(13, 0), at(15, 10), viaPayment)
	}
	for range 4 {
		visit(cabin13, someone(sh), at(13, 30), at(13, 50), viaPhone)
	}
	for range 2 {
		visit(cabin12, someone(sh), at(13, 5), at(13, 25), viaPhone)
	}
	visit(cabin12, someone(sh), at(13, 50), at(14, 10), viaPhone)
	visit(cabin12, someone(sh), at(13, 55), at(14, 15), viaPhone)

	// Node E: A's car, driven by A's husband, at the toll gate.
	wd.visit(toll, a, at(14, 0), at(14, 0)+30, viaPlate, aPlate, false)

	// Node D: the hospital, which confirms A the next morning.
	visit(hosp, a, at(15, 30), at(18, 0), viaIDCard)
	visit(hosp, someone(sh), at(10, 0), at(11, 0), viaIDCard)
	visit(hosp, someone(sh), at(18, 0), at(19, 0), viaIDCard)
	wd.caseReport(a, hosp, secPerDay+at(10, 0), 0)

	wd.cases = []int32{a}
	if err := wd.writeDirectory(15 * time.Minute); err != nil {
		return nil, err
	}
	if err := wd.flush(math.MaxInt64); err != nil {
		return nil, err
	}
	return wd.truth(), nil
}
