"""Countries: names and codes → ISO 3166-1 alpha-2. Unknown names are kept as text."""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import to_object
from transforms.context import TransformContext
from transforms.result import Normalised
from transforms.text import clean_text
from transforms.vocabulary import alias_table, word_keys

#: alpha-2 → alpha-3 and the names people write (English, local, common short forms)
_COUNTRIES: dict[str, tuple[str, ...]] = {
    "US": ("USA", "United States", "United States of America", "U.S.", "U.S.A.", "America"),
    "GB": (
        "GBR",
        "UK",
        "U.K.",
        "United Kingdom",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
    ),
    "DE": ("DEU", "Germany", "Deutschland"),
    "FR": ("FRA", "France"),
    "NL": ("NLD", "Netherlands", "The Netherlands", "Holland", "Nederland"),
    "BE": ("BEL", "Belgium", "Belgique", "België"),
    "LU": ("LUX", "Luxembourg"),
    "IE": ("IRL", "Ireland", "Éire", "Republic of Ireland"),
    "CA": ("CAN", "Canada"),
    "MX": ("MEX", "Mexico", "México"),
    "BR": ("BRA", "Brazil", "Brasil"),
    "AR": ("ARG", "Argentina"),
    "CL": ("CHL", "Chile"),
    "CO": ("COL", "Colombia"),
    "IN": ("IND", "India"),
    "SG": ("SGP", "Singapore"),
    "JP": ("JPN", "Japan"),
    "CN": ("CHN", "China", "People's Republic of China", "PRC"),
    "HK": ("HKG", "Hong Kong"),
    "TW": ("TWN", "Taiwan"),
    "KR": ("KOR", "South Korea", "Korea", "Republic of Korea"),
    "AU": ("AUS", "Australia"),
    "NZ": ("NZL", "New Zealand"),
    "ES": ("ESP", "Spain", "España"),
    "PT": ("PRT", "Portugal"),
    "IT": ("ITA", "Italy", "Italia"),
    "PL": ("POL", "Poland", "Polska"),
    "CZ": ("CZE", "Czech Republic", "Czechia"),
    "AT": ("AUT", "Austria", "Österreich"),
    "CH": ("CHE", "Switzerland", "Schweiz", "Suisse", "Svizzera"),
    "SE": ("SWE", "Sweden", "Sverige"),
    "NO": ("NOR", "Norway", "Norge"),
    "DK": ("DNK", "Denmark", "Danmark"),
    "FI": ("FIN", "Finland", "Suomi"),
    "IL": ("ISR", "Israel"),
    "AE": ("ARE", "United Arab Emirates", "UAE"),
    "ZA": ("ZAF", "South Africa"),
    "RO": ("ROU", "Romania"),
    "HU": ("HUN", "Hungary"),
    "GR": ("GRC", "Greece"),
    "TR": ("TUR", "Turkey", "Türkiye"),
    "UA": ("UKR", "Ukraine"),
    "PH": ("PHL", "Philippines"),
    "MY": ("MYS", "Malaysia"),
    "TH": ("THA", "Thailand"),
    "VN": ("VNM", "Vietnam", "Viet Nam"),
    "ID": ("IDN", "Indonesia"),
    "EG": ("EGY", "Egypt"),
    "NG": ("NGA", "Nigeria"),
    "KE": ("KEN", "Kenya"),
    "SA": ("SAU", "Saudi Arabia"),
}
BUILTIN_COUNTRY_ALIASES: dict[str, str] = {name: code for code, names in _COUNTRIES.items() for name in names}


def country(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    table = alias_table(_COUNTRIES, BUILTIN_COUNTRY_ALIASES, mapping.values)
    text = clean_text(values)
    keys = word_keys(text).str.replace(r"[.]", "", regex=True)
    dotted = {k.replace(".", ""): v for k, v in table.items()}
    found = keys.map(dotted)
    return Normalised.ok(to_object(found.where(found.notna(), text).astype("str")))
