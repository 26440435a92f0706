# Builds prices.json from a LiteLLM price map for the families listed in M.
# Usage: from_litellm.py MAP.json MAP-DATE(YYYY-MM-DD) TABLE-VERSION > prices.json
# Anthropic 1-hour cache writes are set to 2x input (Anthropic's published rule) and noted in
# "source" where the map lacks or disagrees with it. Review the diff before committing.
import json, re, collections, sys
REF, REFDATE, VERSION = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(REF))
SRC = 'litellm model_prices_and_context_window.json ' + REFDATE
# family -> (provider, reference key)
M = [
 ('claude-opus-5','anthropic','claude-opus-5'),
 ('claude-opus-4-8','anthropic','claude-opus-4-8'),
 ('claude-opus-4-7','anthropic','claude-opus-4-7'),
 ('claude-opus-4-6','anthropic','claude-opus-4-6'),
 ('claude-opus-4-5','anthropic','claude-opus-4-5'),
 ('claude-opus-4-1','anthropic','claude-opus-4-1'),
 ('claude-opus-4','anthropic','claude-opus-4-20250514'),
 ('claude-sonnet-5','anthropic','claude-sonnet-5'),
 ('claude-sonnet-4-6','anthropic','claude-sonnet-4-6'),
 ('claude-sonnet-4-5','anthropic','claude-sonnet-4-5'),
 ('claude-sonnet-4','anthropic','claude-sonnet-4-20250514'),
 ('claude-haiku-4-5','anthropic','claude-haiku-4-5'),
 ('claude-3-7-sonnet','anthropic','claude-3-7-sonnet-20250219'),
 ('claude-3-5-sonnet','anthropic','anthropic.claude-3-5-sonnet-20241022-v2:0'),
 ('claude-3-5-haiku','anthropic','us.anthropic.claude-3-5-haiku-20241022-v1:0'),
 ('gpt-5.6','openai','gpt-5.6'),
 ('gpt-5.5','openai','gpt-5.5'),
 ('gpt-5.4','openai','gpt-5.4'),
 ('gpt-5.4-mini','openai','gpt-5.4-mini'),
 ('gpt-5.4-nano','openai','gpt-5.4-nano'),
 ('gpt-5.2','openai','gpt-5.2'),
 ('gpt-5.1','openai','gpt-5.1'),
 ('gpt-5','openai','gpt-5'),
 ('gpt-5-mini','openai','gpt-5-mini'),
 ('gpt-5-nano','openai','gpt-5-nano'),
 ('gpt-5-codex','openai','gpt-5-codex'),
 ('gpt-5.1-codex','openai','gpt-5.1-codex'),
 ('gpt-4.1','openai','gpt-4.1'),
 ('gpt-4.1-mini','openai','gpt-4.1-mini'),
 ('gpt-4.1-nano','openai','gpt-4.1-nano'),
 ('gpt-4o','openai','gpt-4o'),
 ('gpt-4o-2024-05-13','openai','gpt-4o-2024-05-13'),
 ('gpt-4o-mini','openai','gpt-4o-mini'),
 ('o1','openai','o1'),
 ('o3','openai','o3'),
 ('o3-mini','openai','o3-mini'),
 ('o3-pro','openai','o3-pro'),
 ('o4-mini','openai','o4-mini'),
 ('gemini-3.1-pro-preview','google','gemini-3.1-pro-preview'),
 ('gemini-3-pro-preview','google','gemini-3-pro-preview'),
 ('gemini-3-flash-preview','google','gemini-3-flash-preview'),
 ('gemini-2.5-pro','google','gemini-2.5-pro'),
 ('gemini-2.5-flash','google','gemini-2.5-flash'),
 ('gemini-2.5-flash-lite','google','gemini-2.5-flash-lite'),
 ('gemini-2.0-flash','google','gemini-2.0-flash'),
 ('meta-llama/llama-3-70b-instruct','openrouter','openrouter/meta-llama/llama-3-70b-instruct'),
 ('deepseek/deepseek-chat-v3.1','openrouter','openrouter/deepseek/deepseek-chat-v3.1'),
 ('deepseek/deepseek-v3.2','openrouter','openrouter/deepseek/deepseek-v3.2'),
 ('deepseek/deepseek-r1','openrouter','openrouter/deepseek/deepseek-r1'),
 ('deepseek/deepseek-r1-0528','openrouter','openrouter/deepseek/deepseek-r1-0528'),
 ('qwen/qwen3-coder','openrouter','openrouter/qwen/qwen3-coder'),
 ('qwen/qwen3-235b-a22b-2507','openrouter','openrouter/qwen/qwen3-235b-a22b-2507'),
 ('qwen/qwen3-235b-a22b-thinking-2507','openrouter','openrouter/qwen/qwen3-235b-a22b-thinking-2507'),
]
def pm(x): return round(x * 1e6, 6)
out = collections.OrderedDict()
for fam, prov, key in M:
    v = d[key]
    e = collections.OrderedDict(provider=prov)
    e['input'] = pm(v['input_cost_per_token']); e['output'] = pm(v['output_cost_per_token'])
    cr = v.get('cache_read_input_token_cost', v.get('input_cost_per_token_cache_hit'))
    if cr is not None: e['cache_read'] = pm(cr)
    note = None
    if prov == 'anthropic':
        e['cache_write_5m'] = pm(v['cache_creation_input_token_cost'])
        e['cache_write_1h'] = round(2 * e['input'], 6)  # Anthropic: 1h write = 2x input
        ref1h = v.get('cache_creation_input_token_cost_above_1hr')
        if ref1h is None or pm(ref1h) != e['cache_write_1h']:
            note = 'cache_write_1h = 2x input (Anthropic prompt-caching pricing); not in the reference entry'
        assert abs(e['cache_write_5m'] - 1.25 * e['input']) < 1e-9, fam
    elif 'cache_creation_input_token_cost' in v:
        e['cache_write_5m'] = pm(v['cache_creation_input_token_cost'])
    r = v.get('output_cost_per_reasoning_token')
    if r is not None and r != v['output_cost_per_token']: e['reasoning'] = pm(r)
    tiers = {}
    for k2, x in v.items():
        m = re.fullmatch(r'(.*)_above_(\d+)k_tokens', k2)
        if not m or x is None: continue
        base, n = m.group(1), int(m.group(2)) * 1000
        name = {'input_cost_per_token': 'input', 'output_cost_per_token': 'output',
                'cache_read_input_token_cost': 'cache_read',
                'cache_creation_input_token_cost': 'cache_write_5m',
                'cache_creation_input_token_cost_above_1hr': 'cache_write_1h'}.get(base)
        if name is None: continue
        if prov == 'google' and name == 'cache_write_5m': continue  # storage-side figure, no base rate
        tiers.setdefault(n, collections.OrderedDict(above_prompt_tokens=n))[name] = pm(x)
    if tiers and fam == 'claude-3-5-sonnet':
        tiers = {}  # Bedrock's 1M-context tier; the Anthropic API caps this model at 200k
        note = (note + '; ' if note else '') + 'the reference entry is Bedrock\'s; its >200k tier (1M context on Bedrock only) left out'
    if tiers:
        tl = []
        for n in sorted(tiers):
            t = tiers[n]
            if prov == 'anthropic':
                t.setdefault('cache_write_1h', round(2 * t['input'], 6))
            order = ['above_prompt_tokens','input','output','cache_read','cache_write_5m','cache_write_1h']
            tl.append(collections.OrderedDict((k3, t[k3]) for k3 in order if k3 in t))
        e['tiers'] = tl
    e['checked'] = REFDATE
    e['source'] = SRC + ' "' + key + '"' + ('; ' + note if note else '')
    out[fam] = e
doc = collections.OrderedDict(version=VERSION, models=out)
sys.stdout.write(json.dumps(doc, indent=2) + '\n')
