"""Reading the expected answer type from a question, and finding entities of a type in a text."""

import pytest

from rag.answer_types import AnswerType, answers_of, counts_things, expected_type, mentions, proper_names


@pytest.mark.parametrize("question, expected", [
    ("Quand ChatGPT a-t-il été lancé ?", AnswerType.WHEN),
    ("Et quand le contrat a-t-il été signé ?", AnswerType.WHEN),
    ("Que peut-on boire pour guérir quand on est enrhumé ?", None),  # a clause's "quand", not the question's
    ("Quel droit Microsoft garde-t-il quand OpenAI utilise d'autres fournisseurs ?", None),
    ("What happened when Sam Altman was fired?", None),
    ("Quelle est la date de publication de GPT-4 ?", AnswerType.DATE),
    ("Quelle est l'année du traité de la Tafna ?", AnswerType.DATE),
    ("What was the date of the first contract?", AnswerType.DATE),
    ("En quelle année GPT-3 a-t-il été publié ?", AnswerType.DATE),
    ("Jusqu'à quand Microsoft veut-il un accès ?", AnswerType.DATE),
    ("When was the contract signed?", AnswerType.WHEN),
    ("Combien Microsoft a-t-il investi ?", AnswerType.AMOUNT),
    ("Quel est le montant du programme ?", AnswerType.AMOUNT),
    ("How much did Microsoft invest?", AnswerType.AMOUNT),
    ("Quel est le prix d'un abonnement ?", AnswerType.AMOUNT),  # a price, an age, a head count
    ("À quel âge a-t-il fondé l'entreprise ?", AnswerType.AMOUNT),
    ("Quel est l'effectif de Microsoft ?", AnswerType.AMOUNT),
    ("Quel était le nombre de jours de voyage ?", AnswerType.AMOUNT),
    ("What is the price of ChatGPT Plus?", AnswerType.AMOUNT),
    ("How old is Sam Altman?", AnswerType.AMOUNT),
    ("What was Microsoft's revenue in 2024?", AnswerType.AMOUNT),  # the English of "chiffre d'affaires"
    ("Up to what revenue ceiling does Microsoft receive its share?", AnswerType.AMOUNT),  # "quel plafond"
    ("Quelle sera la valeur de la participation ?", AnswerType.AMOUNT),
    ("What values does OpenAI defend?", None),
    ("What is the name of OpenAI's own computing infrastructure?", None),
    ("Quel est le nom du restaurant ?", None),
    ("Quelle est la durée du contrat ?", None),  # "plusieurs années" answers it too
    ("Quelle population fut concernée par l'enrôlement forcé ?", None),  # which group, not how many
    ("Quel pourcentage des revenus Microsoft perçoit-il ?", AnswerType.PERCENTAGE),
    ("Où se trouve le siège ?", AnswerType.PLACE),
    ("Dans quel pays est SoftBank ?", AnswerType.PLACE),
    ("Qui dirige Microsoft ?", None),
    ("Pourquoi OpenAI veut-elle ses centres de données ?", None),
    ("Microsoft ou OpenAI : qui a le plus investi ?", None),  # "ou" is not "où"
    ("Quel journal rapporte que les deux firmes discutent âprement ?", AnswerType.ORGANISATION),
    ("Quelle entreprise a investi 13 milliards de dollars dans OpenAI ?", AnswerType.ORGANISATION),
    ("Which newspaper reported that the two firms are negotiating hard?", AnswerType.ORGANISATION),
    ("Quels rivaux pourraient profiter d'une rupture entre Microsoft et OpenAI ?", AnswerType.ORGANISATION),
    ("Which competitors of the OpenAI–Microsoft alliance do analysts name?", AnswerType.ORGANISATION),
    ("En quel type de société OpenAI veut-elle se transformer ?", None),  # "société d'utilité publique"
    ("Et à quelles organisations est-il destiné ?", None),  # "organisations communautaires"
])
def test_expected_type(question, expected):
    assert expected_type(question) is expected


def test_mentions_by_type():
    text = "Fin 2022, Microsoft a investi 10 milliards de dollars, soit 20 % du total, au Japon en mai."
    assert {"2022", "month5"} <= mentions(text, AnswerType.DATE)
    assert {"10e9", "20%"} <= mentions(text, AnswerType.AMOUNT)
    assert mentions(text, AnswerType.PERCENTAGE) == {"20%"}
    assert {"microsoft", "japon"} <= mentions(text, AnswerType.PLACE)
    assert mentions("Les discussions sont tendues.", AnswerType.DATE) == set()
    assert mentions("trois domaines clés", AnswerType.AMOUNT) == {"3"}
    # a digit that is part of a name is no amount: "Combien d'utilisateurs a Copilot ?" is not answered by GPT-4
    assert mentions("Copilot repose sur GPT-4 et o1.", AnswerType.AMOUNT) == set()
    assert mentions("de 2019-2020, 65 000 postes", AnswerType.AMOUNT) == {"2019", "65", "000"}
    # a number keeps its scale: "100 employés" is not the "100" of "100 milliards" (an invented head count)
    assert mentions("OpenAI a 100 employés.", AnswerType.AMOUNT) == {"100"}
    assert mentions("La recapitalisation dépasse 100 milliards.", AnswerType.AMOUNT) == {"100e9"}
    assert mentions("un milliard", AnswerType.AMOUNT) == mentions("1 milliard", AnswerType.AMOUNT) == {"1e9"}
    assert mentions("des milliards de dollars", AnswerType.AMOUNT) == {"billion"}


def test_the_same_entity_in_french_and_english():
    assert mentions("three areas", AnswerType.AMOUNT) == mentions("trois domaines", AnswerType.AMOUNT) == {"3"}
    assert mentions("in May 2025", AnswerType.DATE) == mentions("en mai 2025", AnswerType.DATE)
    assert mentions("1 billion dollars", AnswerType.AMOUNT) & mentions("1 milliard", AnswerType.AMOUNT) == {"1e9"}


def test_a_bare_when_accepts_a_moment_told_by_an_event_and_old_years_are_years():
    from rag.answer_types import is_yes_no

    assert expected_type("Quand la dette est-elle dépréciée ?") is AnswerType.WHEN
    assert "lorsque" in mentions("La dette est dépréciée lorsque la France redevient royaliste.", AnswerType.WHEN)
    assert mentions("Washington quitta Philadelphie en 1777.", AnswerType.DATE) == {"1777"}
    assert mentions("Les discussions sont tendues.", AnswerType.WHEN) == set()
    assert is_yes_no("Moab est-il un désert ?") and is_yes_no("Y a-t-il des interpellations ?")
    assert is_yes_no("Le protocole d'entente est-il contraignant ?") and is_yes_no("Is the MOU binding?")
    assert not is_yes_no("Quand ChatGPT a-t-il été lancé ?") and not is_yes_no("Combien Microsoft a-t-il investi ?")
    assert not is_yes_no("What is Stargate?") and not is_yes_no("Dans quel pays est SoftBank ?")


def test_figures_are_read_with_their_scale_in_both_languages():
    from rag.answer_types import quantities

    assert quantities("Microsoft has invested $13 billion") == quantities("13 milliards de dollars") == {"13e9"}
    assert quantities("un milliard de dollars") == quantities("1 milliard") == quantities("a billion") == {"1e9"}
    assert quantities("dix milliards") == quantities("10 billion") == {"10e9"}
    assert quantities("1,5 milliard") == quantities("1.5 billion") == {"1.5e9"}
    assert quantities("20 % des revenus") == quantities("20 percent") == quantities("20 pour cent") == {"20%"}
    assert quantities("OpenAI has 20 million employees") == {"20e6"} != quantities("20 milliards de dollars")
    assert quantities("l'accord de 2019, signé le 29 juillet 2025") == {"2019", "2025"}
    # bare numbers are not figures: a count in words, a model's name, thousands written with spaces
    assert quantities("GPT-4, trois domaines, 2 000 salariés, un accord") == set()


def test_an_order_of_magnitude_is_borne_out_by_the_same_order_or_a_figure_inside_it():
    from rag.answer_types import magnitudes, quantities, within

    assert magnitudes("valorisée à plusieurs dizaines de milliards de dollars") == magnitudes("tens of billions") \
        == {"10e9"}
    assert magnitudes("several hundred billion dollars") == magnitudes("des centaines de milliards") == {"100e9"}
    assert magnitudes("une centaine de millions d'utilisateurs") == {"100e6"}
    assert magnitudes("des milliards, 13 milliards") == set()  # no order given, and a figure is not one

    def borne_out(magnitude: str, passage: str) -> bool:
        return within(magnitude, quantities(passage), magnitudes(passage))

    assert borne_out("100e9", "OpenAI est valorisée 260 milliards de dollars")
    assert not borne_out("100e9", "valorisée à plusieurs dizaines de milliards, après plus de 10 milliards investis")
    assert borne_out("10e9", "valorisée à plusieurs dizaines de milliards de dollars")
    assert borne_out("10e9", "un investissement de 13 milliards de dollars")
    assert not borne_out("10e9", "20 millions de dollars")  # another scale


@pytest.mark.parametrize("question, counts", [
    ("Combien d'employés compte Microsoft ?", True),
    ("Combien d’utilisateurs ChatGPT a-t-il ?", True),
    ("How many users does ChatGPT have?", True),
    ("Combien d'argent est en jeu ?", False),  # a sum of money is its answer
    ("How many dollars did Microsoft invest?", False),
    ("Combien de milliards Microsoft a-t-il investis ?", False),
    ("Combien Microsoft a-t-il investi ?", False),
    ("How much did Microsoft invest?", False),
])
def test_a_question_counting_things_is_told_from_one_asking_a_sum(question, counts):
    assert counts_things(question) is counts


def test_a_sum_of_money_is_not_a_count():
    """To "Combien d'employés…", "13 milliards de dollars" gives no count; "500 salariés" does, and a
    question asking a sum keeps every figure."""
    sum_ = "Microsoft a engagé plus de 13 milliards de dollars dans OpenAI, puis $10 billion."
    assert answers_of("Combien d'employés compte Microsoft ?", sum_, AnswerType.AMOUNT) == set()
    assert answers_of("Combien Microsoft a-t-il investi ?", sum_, AnswerType.AMOUNT) == {"13e9", "10e9"}
    heads = "OpenAI compte 500 salariés et des dizaines de millions d'utilisateurs."
    assert {"500", "million"} <= answers_of("Combien d'employés compte OpenAI ?", heads, AnswerType.AMOUNT)


@pytest.mark.parametrize("question, sum_", [
    ("Jusqu'à quel plafond de revenus Microsoft touche-t-il sa part ?", True),
    ("Quel est le montant de l’investissement ?", True),
    ("What is OpenAI's valuation?", True),
    ("Up to what revenue ceiling does Microsoft receive its share?", True),  # the English of "plafond"
    ("What was Microsoft's revenue in 2024?", True),
    ("Combien de Mahorais ont voté pour ?", False),
    ("De combien a augmenté la production ?", False),
])
def test_a_percentage_does_not_answer_a_question_asking_for_a_sum(question, sum_):
    """"Jusqu'à 20 % des revenus" gives no ceiling; "92 milliards" does. A bare "combien" may ask for a
    share ("99,4 %" of the voters)."""
    passage = "Microsoft perçoit jusqu'à 20 % des revenus, tant que ceux-ci ne dépassent pas 92 milliards."
    found = answers_of(question, passage, AnswerType.AMOUNT)
    assert "92e9" in found and ("20%" in found) is not sum_
    assert bool(answers_of(question, "Microsoft touche vingt pour cent des revenus.", AnswerType.AMOUNT)) is not sum_


def test_rivals_are_named_and_are_not_the_companies_the_question_sets_them_against():
    from rag.answer_types import question_gives

    question = "Which competitors of the OpenAI–Microsoft alliance do analysts name?"
    given = question_gives(question, AnswerType.ORGANISATION)
    echo = "OpenAI and Microsoft are competitors of the OpenAI–Microsoft alliance."
    assert not answers_of(question, echo, AnswerType.ORGANISATION) - given
    named = "face à des concurrents tels que Google DeepMind, Anthropic, Meta ou Amazon"
    assert {"anthropic", "meta", "amazon"} <= answers_of(question, named, AnswerType.ORGANISATION) - given


def test_an_outlet_or_a_company_is_a_proper_name_not_a_capitalised_function_word():
    assert proper_names("Le média évoque des discussions plutôt tendues.") == set()
    assert proper_names("Selon le Financial Times, les deux firmes discutent.") == {"financial", "times"}
    assert proper_names("L’armée française") == set() and proper_names("L'Équipe a publié") == {"equipe"}
    assert proper_names("Microsoft a exploré un partenariat avec xAI, la startup d'Elon Musk") == \
        {"microsoft", "xai", "elon", "musk"}


@pytest.mark.parametrize("text, cause", [
    ("Le conseil a renvoyé Sam Altman parce qu'il lui reprochait un manque de franchise", True),
    ("OpenAI a renvoyé Sam Altman pour une raison de dépendance mutuelle", True),
    ("Microsoft investit pour sécuriser l'accès aux modèles", True),  # "pour" + a verb: a purpose
    ("The board brought him back because Nadella was ready to hire him", True),
    ("Pour Satya Nadella, le lien entre les deux entreprises est étroit", False),  # "pour" + a name
    ("Le révérend John Flynn est connu pour avoir créé le Royal Flying Doctor Service", False),  # "known for"
    ("Elle est réputée pour défendre ses auteurs", False),
    ("Fin 2023, le conseil d'administration d'OpenAI renvoie temporairement Sam Altman", False),
])
def test_a_cause_or_a_purpose_is_told_from_what_something_is_known_for(text, cause):
    from rag.answer_types import states_cause

    assert states_cause(text) is cause
