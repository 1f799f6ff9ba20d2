# A small Pelican blog written for picklecost's tests: eight articles, two pages, one static file.
AUTHOR = "Ada Sample"
SITENAME = "Kettle Notes"
SITEURL = ""
PATH = "content"
TIMEZONE = "Europe/Paris"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 4
STATIC_PATHS = ["images"]
RELATIVE_URLS = True
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
LINKS = (("Picklecost", "https://example.org/picklecost"),)
SOCIAL = (("Feed", "https://example.org/feed.xml"),)
