package engine

import (
	"math/rand/v2"
	"strconv"
)

// Containers without --name get a name the way Docker makes them: an
// adjective and the surname of a notable scientist or engineer
// ("festive_hopper"), with a number appended when collisions persist.

var nameAdjectives = []string{
	"admiring", "adoring", "agitated", "amazing", "angry", "awesome", "blissful",
	"bold", "boring", "brave", "busy", "charming", "clever", "compassionate",
	"competent", "confident", "cool", "crazy", "dazzling", "determined",
	"dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "epic",
	"exciting", "fervent", "festive", "flamboyant", "focused", "friendly",
	"frosty", "funny", "gallant", "gifted", "goofy", "gracious", "great",
	"happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible",
	"inspiring", "intelligent", "interesting", "jolly", "jovial", "keen",
	"kind", "laughing", "loving", "lucid", "magical", "modest", "musing",
	"mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic",
	"objective", "optimistic", "peaceful", "pedantic", "pensive", "practical",
	"priceless", "quirky", "quizzical", "relaxed", "reverent", "romantic",
	"sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange",
	"suspicious", "sweet", "tender", "thirsty", "trusting", "upbeat",
	"vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "youthful",
	"zealous", "zen",
}

var nameSurnames = []string{
	"agnesi", "albattani", "allen", "archimedes", "babbage", "banach",
	"bardeen", "bartik", "bassi", "bell", "bhabha", "blackwell", "bohr",
	"booth", "borg", "bose", "brahmagupta", "brattain", "buck", "carson",
	"cerf", "chandrasekhar", "clarke", "cohen", "curie", "darwin", "dijkstra",
	"driscoll", "easley", "einstein", "elion", "engelbart", "euclid", "euler",
	"faraday", "fermat", "fermi", "feynman", "franklin", "galileo", "gates",
	"goldberg", "goldstine", "goodall", "hamilton", "hawking", "heisenberg",
	"hermann", "hodgkin", "hoover", "hopper", "hypatia", "jackson", "jennings",
	"johnson", "kalam", "kapitsa", "kepler", "khorana", "knuth", "kowalevski",
	"lamarr", "lamport", "leakey", "lederberg", "lovelace", "lumiere",
	"mayer", "mccarthy", "mcclintock", "meitner", "mendel", "mirzakhani",
	"morse", "napier", "nash", "newton", "nobel", "noether", "pare", "pascal",
	"pasteur", "payne", "perlman", "pike", "poincare", "ramanujan", "ride",
	"ritchie", "rosalind", "saha", "sammet", "shannon", "shirley", "sinoussi",
	"snyder", "spence", "stonebraker", "swanson", "tesla", "thompson",
	"torvalds", "turing", "varahamihira", "villani", "wescoff", "wiles",
	"williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
}

// generateName returns a random Docker-style name; withNumber appends a
// digit, for when many tries collided.
func generateName(withNumber bool) string {
	for {
		name := nameAdjectives[rand.IntN(len(nameAdjectives))] + "_" + nameSurnames[rand.IntN(len(nameSurnames))]
		if name == "boring_wozniak" { // Steve Wozniak is not boring (a Docker tradition)
			continue
		}
		if withNumber {
			name += strconv.Itoa(rand.IntN(10))
		}
		return name
	}
}
