"""The translated course (issue #47): the built notebooks are current and carry the
English code exactly; the staleness report runs; the build's rules (a translated,
a missing, a stale and a moved cell) on a fake language; the translated quizzes
keep the English ids and answers; each built notebook reads in its language.
Fast: no Keras, no notebook is run."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import settings
from helpers.lessons import quiz, translate
from helpers.cli import main

ROOT = Path(__file__).resolve().parents[1]
PRESENT = [lang for lang in translate.LANGS if (ROOT / "translations" / lang).is_dir()]
WITH_TEXTS = [lang for lang in PRESENT if (ROOT / "translations" / lang / "texts").is_dir()]
WITH_QUIZZES = [lang for lang in PRESENT if (ROOT / "translations" / lang / "quizzes").is_dir()]
BUILT = [(lang, stem, english, ROOT / "translations" / lang / target)
         for lang in WITH_TEXTS for stem, english, target in translate.sources(ROOT)]


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ------------------------------------------------------------ (a) the built notebooks

@pytest.mark.parametrize("lang", PRESENT)
def test_every_built_notebook_is_there_and_current(lang):
    """Rebuilding gives the same bytes: run `python -m helpers translate` after
    changing an English notebook or a text, and commit what it writes."""
    for r in translate.build(lang, ROOT, write=False):
        where = r.path.relative_to(ROOT)
        assert r.path.exists(), f"{where} is missing: run `python -m helpers translate --lang {lang}`"
        assert not r.changed, f"{where} is out of date: run `python -m helpers translate --lang {lang}`"


@pytest.mark.parametrize("lang,stem,english,built", BUILT,
                         ids=[f"{lang}-{stem}" for lang, stem, _, _ in BUILT])
def test_built_notebook_has_the_english_code_exactly(lang, stem, english, built):
    if not built.exists():
        pytest.fail(f"{built.relative_to(ROOT)} is missing: run `python -m helpers translate`")
    en, tr = _load(english), _load(built)
    assert [(c["cell_type"], c.get("id")) for c in tr["cells"]] == \
        [(c["cell_type"], c.get("id")) for c in en["cells"]], "not the English cells, in order"
    for e, t in zip(en["cells"], tr["cells"]):
        if e["cell_type"] == "code":
            assert t == e, f"{stem}: code cell {e.get('id')} differs from English"
        else:       # the same slides: a heading starts the cell it started in English
            assert t["metadata"] == e["metadata"]
            level = "".join(e["source"]).split(" ", 1)[0] if "".join(e["source"]).startswith("#") else ""
            text = "".join(t["source"])
            assert (text.split(" ", 1)[0] if text.startswith("#") else "") == level, \
                f"{stem}: cell {e.get('id')} must start with its heading ({level or 'none'})"
            assert "\n## " not in text, f"{stem}: cell {e.get('id')} has a '## ' heading inside"
    assert tr["metadata"] == {**en["metadata"], "language": lang}
    nbformat.validate(nbformat.reads(built.read_text(encoding="utf-8"), as_version=4))


# ------------------------------------------------------------ (b) the report

def test_the_staleness_report_runs():
    text = translate.report(translate.LANGS, ROOT)
    print(text)          # shown with -s: what is stale, missing, orphaned
    for lang in translate.LANGS:
        assert f"== {lang}" in text
    for lang in WITH_TEXTS:
        section = text.split(f"== {lang}")[1].split("\n== ")[0]
        for stem, _, _ in translate.sources(ROOT):
            assert f"  {stem} " in section
    done = subprocess.run([sys.executable, "-m", "helpers", "translate", "--stale"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "== ru" in done.stdout, done.stderr


# ------------------------------------------------------------ (c) the rules, on a fake language

def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = cells
    return nb


def _md(cell_id, text):
    return nbformat.v4.new_markdown_cell(text, id=cell_id, metadata={"slideshow": {"slide_type": "slide"}})


@pytest.fixture
def fake_course(tmp_path):
    """A course of two notebooks and its Ukrainian texts, written in ``tmp_path``."""
    code = nbformat.v4.new_code_cell("print('hello')\nx = 1", id="code-1",
                                     metadata={"tags": ["nbval-skip"]})
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    code.execution_count = 3
    one = _notebook([_md("m1", "# One\n\nTranslated text."), code,
                     _md("m2", "## No translation\n\nStays English."),
                     _md("m3", "A text that changed since it was translated.")])
    two = _notebook([_md("n1", "## A cell moved here from notebook one"),
                     nbformat.v4.new_code_cell("y = 2", id="code-2")])
    (tmp_path / "notebooks").mkdir()
    nbformat.write(one, tmp_path / "notebooks" / "01_one.ipynb")
    nbformat.write(two, tmp_path / "notebooks" / "02_two.ipynb")
    texts = tmp_path / "translations" / "uk" / "texts"
    texts.mkdir(parents=True)
    h = translate.cell_hash
    first = h(one.cells[0].source)
    (texts / "01_one.md").write_text(
        "A comment before the first header.\n\n"
        f"<!-- cell m1 en:{first} -->\n\n# Один\n\nПерекладений текст.\n\n"
        f"<!-- cell m3 en:{h('The text before it changed.')} -->\nСтарий переклад.\n"
        f"<!-- cell old-id en:{h('## A cell moved here from notebook one')} -->\n"
        "## Клітинка, що переїхала\n"
        f"<!-- cell gone en:{h('A cell deleted since.')} -->\nВидалена клітинка.\n",
        encoding="utf-8")
    return tmp_path


def test_fake_language_translated_missing_stale_and_moved(fake_course):
    reports = {r.stem: r for r in translate.build("uk", fake_course)}
    one = _load(fake_course / "translations/uk/notebooks/01_one.ipynb")
    two = _load(fake_course / "translations/uk/notebooks/02_two.ipynb")
    english = _load(fake_course / "notebooks/01_one.ipynb")
    text = ["".join(c["source"]) for c in one["cells"]]
    assert text[0] == "# Один\n\nПерекладений текст."                      # translated
    assert text[2].startswith("## No translation\n\nStays English.\n\n")      # missing: English,
    assert "ще не перекладено українською" in text[2]                        # with a note
    assert text[3] == "Старий переклад."                                      # stale: used as is
    assert "".join(two["cells"][0]["source"]) == "## Клітинка, що переїхала"  # moved: kept
    assert one["cells"][1] == english["cells"][1]                             # code: unchanged
    assert one["metadata"]["language"] == "uk" and one["nbformat_minor"] == english["nbformat_minor"]
    r = reports["01_one"]
    assert (r.translated, r.stale, r.missing) == (["m1"], ["m3"], ["m2"])
    assert reports["02_two"].moved == [("n1", "01_one/old-id")]
    # deterministic: a second build writes nothing, and the bytes are nbformat's
    path = fake_course / "translations/uk/notebooks/01_one.ipynb"
    before = path.read_bytes()
    assert not any(r.changed for r in translate.build("uk", fake_course))
    assert path.read_bytes() == before and before.endswith(b"\n}\n")
    assert not list(path.parent.glob(".*tmp*")), "a temporary file was left behind"

    report = translate.report(["uk", "sl"], fake_course)
    assert "stale (English changed since): 01_one/m3" in report
    assert "not translated: 01_one/m2" in report
    assert "found by its English text: 02_two/n1 uses the block 01_one/old-id" in report
    assert "translation of a cell that no longer exists: 01_one/gone" in report
    assert "== sl: no translation yet" in report
    assert " 2/3 " in report.split("01_one")[1].splitlines()[0]


def test_a_built_fake_notebook_makes_slides_in_its_language(fake_course, tmp_path):
    pytest.importorskip("sphinx_revealjs")
    from helpers.course.slides import quiz_slides, write_slides

    translate.build("uk", fake_course)
    built = fake_course / "translations/uk/notebooks/01_one.ipynb"
    [deck] = write_slides([built], tmp_path / "slides")
    page = deck.read_text(encoding="utf-8")
    assert '<html lang="uk">' in page and "Перекладений текст" in page
    nb = nbformat.v4.new_notebook(metadata={"language": "uk"})
    nb.cells = [nbformat.v4.new_code_cell('quiz.show("01", "pre")')]
    assert quiz_slides(nb).cells[1].source.startswith("*Відповідь:*")


def test_the_course_runs_a_languages_own_notebooks(fake_course):
    from helpers.course.runner import course_notebooks

    translate.build("uk", fake_course)
    assert [p.relative_to(fake_course).as_posix() for p in course_notebooks(fake_course, "uk")] == \
        ["translations/uk/notebooks/01_one.ipynb", "translations/uk/notebooks/02_two.ipynb"]


# ------------------------------------------------------------ (d) the quizzes

ENGLISH = {q["id"]: q for q in quiz.questions(lang="en")}


@pytest.mark.parametrize("lang", WITH_QUIZZES)
def test_translated_quiz_keeps_the_english_ids_and_answers(lang, capsys):
    for path in sorted((ROOT / "translations" / lang / "quizzes").glob("*.json")):
        for q in _load(path)["questions"]:
            e = ENGLISH.get(q["id"])
            assert e is not None, f"{path.name}: {q['id']} is no English question"
            assert (q["when"], q["answer"], len(q.get("options", []))) == \
                (e["when"], e["answer"], len(e.get("options", []))), f"{path.name}: {q['id']}"
    assert main(["quiz", "--json", "--lang", lang]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(q["id"], q["answer"]) for q in shown] == [(i, q["answer"]) for i, q in ENGLISH.items()]


def test_quiz_falls_back_to_english_per_question_with_a_note(tmp_path, monkeypatch):
    folder = tmp_path / "uk" / "quizzes"
    folder.mkdir(parents=True)
    first = quiz.questions("02", lang="en")[0]
    done = {**first, "text": "Питання українською?", "en": translate.question_hash(first),
            "answer": 99}
    (folder / "02.json").write_text(json.dumps({"questions": [done]}), encoding="utf-8")
    monkeypatch.setattr(quiz, "TRANSLATIONS", tmp_path)
    items = quiz.questions("02", lang="uk")
    assert items[0]["text"] == "Питання українською?" and items[0]["answer"] == first["answer"]
    assert "note" not in items[0]
    assert items[1]["text"] == ENGLISH[items[1]["id"]]["text"] and "не перекладено" in items[1]["note"]
    assert [q["id"] for q in items] == [q["id"] for q in quiz.questions("02", lang="en")]
    html = quiz.show("02", "pre", lang="uk")._repr_html_()
    assert "Питання українською?" in html and "Перш ніж почати" in html
    assert quiz.check(first["id"], first["answer"], lang="uk").startswith("Правильно.")


def test_the_language_follows_tl_lang_else_the_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("TL_LANG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings.language() == "en"
    deep = tmp_path / "translations" / "zh-TW" / "notebooks"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert settings.language() == "zh-TW"
    monkeypatch.setenv("TL_LANG", "SL")
    assert settings.language() == "sl"
    monkeypatch.setenv("TL_LANG", "de")
    with pytest.raises(ValueError, match="TL_LANG"):
        settings.language()


# ------------------------------------------------------------ (e) each reads in its language

def test_the_language_check_tells_the_languages_apart():
    samples = {"ru": "Мы замораживаем базовую сеть и обучаем только новую голову: это быстро.",
               "uk": "Ми заморожуємо базову мережу й навчаємо лише нову голову: це швидко і просто.",
               "zh-TW": "我們凍結預訓練網路，只訓練新的分類頭，這樣很快。",
               "sl": "Zamrznemo osnovno mrežo in učimo le novo glavo: to je hitro."}
    english = "We freeze the backbone and train only the new head: it is quick."
    for lang, text in samples.items():
        assert translate.reads_as(text, lang), lang
        assert not translate.reads_as(english, lang), lang
        for other, other_text in samples.items():
            if other != lang:
                assert not translate.reads_as(other_text, lang), (other, lang)
    assert not translate.reads_as("我们冻结预训练网络，只训练新的分类头，这样很快。", "zh-TW")
    assert translate.reads_as("$$\\frac{a}{b}$$ `code`", "uk")      # nothing to translate
    note = f"{english}\n\n{translate.note_text('uk')}"
    assert not translate.reads_as(note, "uk")                       # the note does not count


@pytest.mark.parametrize("lang,stem,english,built", BUILT,
                         ids=[f"{lang}-{stem}" for lang, stem, _, _ in BUILT])
def test_built_notebook_reads_in_its_language(lang, stem, english, built):
    if not built.exists():
        pytest.fail(f"{built.relative_to(ROOT)} is missing: run `python -m helpers translate`")
    share = translate.share_in_language(_load(built), lang)
    assert share >= 0.85, f"{built.relative_to(ROOT)}: only {share:.0%} of its markdown cells read as {lang}"


def test_the_course_runner_gives_the_kernel_its_language(tmp_path, monkeypatch, capsys):
    """`python -m helpers course --lang uk`: the kernel (started in the notebook's own,
    deeper folder) shows the Ukrainian self-checks; a relative TL_DATA_DIR still works."""
    from helpers.course.runner import run_course

    monkeypatch.setenv("PYTHONPATH", str(ROOT))          # the kernel imports this checkout
    monkeypatch.setenv("TL_DATA_DIR", "relative/data")
    folder = tmp_path / "translations" / "uk" / "notebooks"
    folder.mkdir(parents=True)
    nb = _notebook([nbformat.v4.new_code_cell(
        "import os\nfrom helpers import settings\nfrom helpers.lessons import quiz\n"
        "print(settings.language(), quiz.show('01', 'pre').title, os.environ['TL_DATA_DIR'])")])
    nbformat.write(nb, folder / "01_lang.ipynb")
    assert run_course(tmp_path / "out", [folder / "01_lang.ipynb"], lang="uk") == 0
    printed = "".join(_load(tmp_path / "out" / "01_lang.ipynb")["cells"][0]["outputs"][0]["text"])
    assert printed.startswith("uk Перш ніж почати") and str(Path("relative/data").resolve()) in printed
    assert 'lang="uk"' in (tmp_path / "out" / "01_lang.html").read_text(encoding="utf-8")
