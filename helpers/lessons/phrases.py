"""The few fixed phrases the course shows a student in the notebook's language
(issue #47): the self-checks' verdicts and titles (:mod:`helpers.lessons.quiz`), the
note under a text not translated yet (:mod:`helpers.lessons.translate`) and the answer
slides (``python -m helpers slides``). Everything else the helpers print (plots,
reports, the code checks of :mod:`helpers.lessons.selfcheck`) stays in English, as the
code does. Introduced with the translations (``translations/README.md``).
"""

from __future__ import annotations

from helpers.settings import LANGUAGES  # noqa: F401  (the course's languages, kept in settings)

PHRASES = {
    "en": {
        "pre": "Before you start: what do you expect?",
        "post": "Check yourself: what did you learn?",
        "click": "(click an option to see whether it is right)",
        "work_out": "Work it out, then open the answer",
        "right": "Right.",
        "not_quite": "Not quite.",
        "not_quite_number": "Not quite: the answer is {answer}.",
        "not_quite_option": "Not quite: it is \"{option}\".",
        "not_answered": "Not answered yet.",
        "see": "See \"{section}\".",
        "answer": "Answer:",
        "sheet": "Self-checks of the course",
        "answers": "Answers",
        "cell_not_translated": "",
        "question_not_translated": "",
    },
    "ru": {
        "pre": "Прежде чем начать: чего вы ожидаете?",
        "post": "Проверьте себя: что вы узнали?",
        "click": "(щёлкните по варианту, чтобы узнать, верен ли он)",
        "work_out": "Сначала посчитайте сами, затем откройте ответ",
        "right": "Верно.",
        "not_quite": "Не совсем.",
        "not_quite_number": "Не совсем: ответ — {answer}.",
        "not_quite_option": "Не совсем: верный ответ — «{option}».",
        "not_answered": "Ответа пока нет.",
        "see": "См. «{section}».",
        "answer": "Ответ:",
        "sheet": "Вопросы для самопроверки",
        "answers": "Ответы",
        "cell_not_translated": "Этот текст ещё не переведён на русский: выше — английский оригинал.",
        "question_not_translated": "Этот вопрос ещё не переведён: он показан по-английски.",
    },
    "uk": {
        "pre": "Перш ніж почати: чого ви очікуєте?",
        "post": "Перевірте себе: що ви дізналися?",
        "click": "(клацніть варіант, щоб дізнатися, чи він правильний)",
        "work_out": "Спершу обчисліть самі, потім відкрийте відповідь",
        "right": "Правильно.",
        "not_quite": "Не зовсім.",
        "not_quite_number": "Не зовсім: відповідь — {answer}.",
        "not_quite_option": "Не зовсім: правильна відповідь — «{option}».",
        "not_answered": "Відповіді ще немає.",
        "see": "Див. «{section}».",
        "answer": "Відповідь:",
        "sheet": "Питання для самоперевірки",
        "answers": "Відповіді",
        "cell_not_translated": "Цей текст ще не перекладено українською: вище — англійський оригінал.",
        "question_not_translated": "Це питання ще не перекладено: його показано англійською.",
    },
    "zh-TW": {
        "pre": "開始之前：你預期會怎樣？",
        "post": "自我檢查：你學到了什麼？",
        "click": "（點選一個選項，看看它是否正確）",
        "work_out": "先自己算出來，再打開答案",
        "right": "正確。",
        "not_quite": "不太對。",
        "not_quite_number": "不太對：答案是 {answer}。",
        "not_quite_option": "不太對：正確答案是「{option}」。",
        "not_answered": "尚未作答。",
        "see": "參見「{section}」。",
        "answer": "答案：",
        "sheet": "課程自我檢查",
        "answers": "答案",
        "cell_not_translated": "本段尚未翻譯成中文：上方為英文原文。",
        "question_not_translated": "本題尚未翻譯：以英文顯示。",
    },
    "sl": {
        "pre": "Preden začnete: kaj pričakujete?",
        "post": "Preverite se: kaj ste se naučili?",
        "click": "(kliknite možnost, da vidite, ali je pravilna)",
        "work_out": "Najprej izračunajte sami, nato odprite odgovor",
        "right": "Pravilno.",
        "not_quite": "Ne čisto.",
        "not_quite_number": "Ne čisto: odgovor je {answer}.",
        "not_quite_option": "Ne čisto: pravilno je »{option}«.",
        "not_answered": "Še ni odgovora.",
        "see": "Glejte »{section}«.",
        "answer": "Odgovor:",
        "sheet": "Vprašanja za samopreverjanje",
        "answers": "Odgovori",
        "cell_not_translated": "To besedilo še ni prevedeno v slovenščino: zgoraj je angleški izvirnik.",
        "question_not_translated": "To vprašanje še ni prevedeno: prikazano je v angleščini.",
    },
}


def phrase(key: str, lang: str = "en", **values) -> str:
    """The phrase ``key`` in ``lang`` (English where the language has none), filled in."""
    text = PHRASES.get(lang, {}).get(key) or PHRASES["en"][key]
    return text.format(**values)
