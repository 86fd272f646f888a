//! The demo's invented vocabulary: names per script (with each script's share and countries),
//! device models, repair faults.

/// One naming script: given and family names, where its people live, and their language.
pub(super) struct Script {
    pub first: &'static [&'static str],
    pub last: &'static [&'static str],
    pub countries: &'static [&'static str],
    pub lang: &'static str,
    pub ascii: bool,
}

pub(super) const SCRIPTS: &[(f64, Script)] = &[
    (
        0.60,
        Script {
            first: &[
                "Alice", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Harry", "Isla",
                "Jack", "Kate", "Liam", "Mia", "Noah", "Olivia", "Paul",
            ],
            last: &[
                "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
                "Evans", "Walker", "Wright", "Green", "Hall", "Wood",
            ],
            countries: &["GB", "US", "IE", "AU", "CA"],
            lang: "en",
            ascii: true,
        },
    ),
    (
        0.15,
        Script {
            first: &[
                "José",
                "Zoë",
                "Łukasz",
                "Chloé",
                "Søren",
                "Åsa",
                "Matías",
                "Renée",
                "Ümit",
                "Frédéric",
            ],
            last: &[
                "García",
                "Müller",
                "Nowak",
                "Lefèvre",
                "Jørgensen",
                "Öztürk",
                "Núñez",
                "Ångström",
                "Dvořák",
            ],
            countries: &["ES", "DE", "PL", "FR", "DK", "SE", "TR"],
            lang: "es",
            ascii: false,
        },
    ),
    (
        0.08,
        Script {
            first: &["伟", "芳", "健", "由美", "민준", "서연"],
            last: &["王", "李", "佐藤", "鈴木", "김", "박"],
            countries: &["CN", "JP", "KR"],
            lang: "zh",
            ascii: false,
        },
    ),
    (
        0.07,
        Script {
            first: &["محمد", "فاطمة", "יוסף", "שרה", "علي"],
            last: &["العلي", "حسن", "כהן", "לוי", "منصور"],
            countries: &["AE", "EG", "IL", "SA"],
            lang: "ar",
            ascii: false,
        },
    ),
    (
        0.05,
        Script {
            first: &["Дмитрий", "Анна", "Олена", "Сергей"],
            last: &["Иванов", "Петрова", "Шевченко", "Смирнов"],
            countries: &["UA", "BG", "RS"],
            lang: "uk",
            ascii: false,
        },
    ),
    (
        0.05,
        Script {
            first: &["अर्जुन", "प्रिया", "राहुल", "अनन्या"],
            last: &["शर्मा", "वर्मा", "पटेल", "गुप्ता"],
            countries: &["IN", "NP"],
            lang: "hi",
            ascii: false,
        },
    ),
];

pub(super) const DEVICES: &[(&str, &str, &[&str])] = &[
    (
        "phone",
        "Apple",
        &["iPhone 13", "iPhone 14 Pro", "iPhone 15"],
    ),
    (
        "phone",
        "Samsung",
        &["Galaxy S22", "Galaxy A54", "Galaxy S24"],
    ),
    ("laptop", "Dell", &["XPS 13", "Latitude 5440"]),
    ("laptop", "Lenovo", &["ThinkPad T14", "IdeaPad 5"]),
    ("tablet", "Apple", &["iPad Air", "iPad 10"]),
    ("console", "Sony", &["PlayStation 5"]),
];

pub(super) const FAULTS: &[&str] = &[
    "cracked screen",
    "battery swelling",
    "no power",
    "water damage",
    "charging port",
    "keyboard fault",
    "overheating",
];
