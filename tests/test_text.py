from smallfedi.text import count_characters, plain_text, render_markdown, sanitize_html


def render(source, resolve=None):
    return render_markdown(source, base_url="https://social.example", own_domain="social.example", resolve=resolve)


def test_markdown_basics_and_headings_flattened():
    r = render("# Title\n\nSome *em* and **strong**\nnext line\n\n- a\n- b\n\n```\ncode <x>\n```")
    assert "<h1>" not in r.html and "<p><strong>Title</strong></p>" in r.html
    assert "<em>em</em>" in r.html and "<strong>strong</strong>" in r.html
    assert "<br>" in r.html  # a newline is a line break, as in every fediverse app
    assert "<ul>" in r.html and "<li>a</li>" in r.html
    assert "<pre><code>code &lt;x&gt;" in r.html


def test_raw_html_is_escaped_not_interpreted():
    r = render('<script>alert(1)</script><img src=x onerror=alert(1)> <a href="javascript:x">y</a>')
    assert "<script" not in r.html and "<img" not in r.html and "<a href" not in r.html
    assert "&lt;script&gt;" in r.html


def test_links_are_made_safe():
    r = render("[click](javascript:alert(1)) [ok](https://ok.example/) https://bare.example/path_with_(x).")
    assert "javascript:" not in r.html
    assert '<a href="https://ok.example/" rel="nofollow noopener noreferrer">ok</a>' in r.html
    assert '<a href="https://bare.example/path_with_(x)" rel="nofollow noopener noreferrer">' in r.html
    assert "</a>." in r.html  # trailing punctuation is not part of the link


def test_hashtags_and_mentions_are_recognised():
    r = render("#Hello #1 a#b #world_2 @bob@Remote.Example @me @carol@social.example `#code`")
    assert r.tags == ["hello", "world_2"]
    assert r.mentions == ["bob@remote.example", "me", "carol"]
    assert 'href="https://social.example/tags/hello"' in r.html
    assert "#code" in r.html and "tags/code" not in r.html


def test_mentions_link_only_when_resolved():
    r = render("hi @me and @bob@remote.example",
               resolve=lambda u, h: "https://social.example/@me" if (u, h) == ("me", None) else None)
    assert '<a class="u-url mention" href="https://social.example/@me"' in r.html
    assert "@bob@remote.example" in r.html


def test_sanitize_remote_html_like_mastodon():
    dirty = ('<p onclick="x" style="color:red">hi <span class="h-card evil">x</span>'
             '<iframe src="https://x"></iframe><a href="https://ok" target="_blank">ok</a></p>')
    clean = sanitize_html(dirty)
    assert "onclick" not in clean and "style" not in clean and "iframe" not in clean and "evil" not in clean
    assert 'class="h-card"' in clean and 'rel="nofollow noopener noreferrer"' in clean


def test_character_count_like_mastodon():
    assert count_characters("hello") == 5
    assert count_characters("https://example.org/" + "a" * 100) == 23
    assert count_characters("@bob@very.long.domain.example hi") == len("@bob hi")


def test_plain_text():
    assert plain_text("<p>a &amp; b<br>c</p><p>d</p>") == "a & b\nc\n\nd"


def test_a_post_opening_with_a_hashtag_is_not_a_heading():
    r = render("#caturday is here\n# A real heading")
    assert r.tags == ["caturday"]
    assert r.html.startswith('<p><a class="mention hashtag"')
    assert "<strong>A real heading</strong>" in r.html
