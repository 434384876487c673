from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq
from actions.language import ActionDetectLanguage


async def test_faq_answers_in_the_customers_language(make_tracker):
    action = ActionAnswerFaq()
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker("亲，什么时候发货呀"), {})
    assert "48 小时" in dispatcher.messages[0]["text"]
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker("When will you ship?", slots={"language": "en"}), {})
    assert dispatcher.messages[0]["text"].startswith("We ship within 48 hours")


async def test_faq_without_a_match_falls_back(make_tracker):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFaq().run(dispatcher, make_tracker("🙂🙂"), {})
    assert dispatcher.messages[0]["response"] == "utter_default"


async def test_language_follows_each_message(make_tracker):
    action = ActionDetectLanguage()
    english = await action.run(CollectingDispatcher(), make_tracker("where is my parcel"), {})
    assert english[0]["value"] == "en"
    from_signal = await action.run(
        CollectingDispatcher(), make_tracker("ok", metadata={"signals": {"language": "zh"}}), {}
    )
    assert from_signal == [], "already zh"
    external = await action.run(
        CollectingDispatcher(),
        make_tracker("EXTERNAL: handoff_closed", slots={"language": "zh"}),
        {},
    )
    assert external == []
