"""The config audit's configurations (split) and its table (report).

split GUEST WORK: WORK/full (tinyconfig + GUEST), WORK/tiny (tinyconfig
alone), WORK/block-NN (GUEST without its NN-th paragraph that sets
options), WORK/off-NN (GUEST without that paragraph's "is not set"
lines) and WORK/nooff (GUEST without any "is not set" line), each with
frag.config and title.
report GUEST WORK: per configuration, the objects it compiles that the
full one does not (or the other way round) and their compile time.
"""
import os, re, sys

def paragraphs(text):
    out = []
    for p in text.split('\n\n'):
        lines = p.strip('\n').split('\n')
        if not any(re.match(r'(# )?CONFIG_', l) for l in lines):
            continue
        title = ' '.join(l.lstrip('# ').strip() for l in lines if l.startswith('#') and not re.match(r'# CONFIG_', l))
        out.append((title, p))
    return out

def write(d, frag, title):
    os.makedirs(d, exist_ok=True)
    open(d + '/frag.config', 'w').write(frag)
    open(d + '/title', 'w').write(title + '\n')

def split(guest, work):
    text = open(guest).read()
    off = re.compile(r'^# CONFIG_\w+ is not set\n', re.M)
    write(work + '/full', text, 'tinyconfig + guest.config')
    write(work + '/tiny', '', 'tinyconfig alone')
    write(work + '/nooff', off.sub('', text), 'no "is not set" line')
    for i, (title, p) in enumerate(paragraphs(text)):
        if re.search(r'^CONFIG_\w+=', p, re.M):
            write(f'{work}/block-{i:02d}', text.replace(p, ''), 'without: ' + title)
        if off.search(p + '\n'):
            write(f'{work}/off-{i:02d}', text.replace(p, off.sub('', p + '\n').rstrip('\n')), 'without the off-lines of: ' + title)

def times(path, into):
    for l in open(path):
        f = l.split()
        if len(f) == 3 and f[2].endswith('.o') and not f[2].startswith('.tmp') and f[2] not in into:
            into[f[2]] = float(f[1]) - float(f[0])

def objs(d):
    return set(l.strip() for l in open(d + '/objs') if l.strip().endswith('.o') and not l.startswith('.tmp'))

def report(guest, work):
    t = {}
    times(work + '/full/times', t)
    times(work + '/nooff/times', t)
    full = objs(work + '/full')
    total = sum(t.get(o, 0) for o in full)
    print(f'full: {len(full)} objects, {total:.0f} s of compilation, cold make {float(open(work + "/full/wall").read()):.0f} s wall')
    print('| configuration | objects it drops (−) or adds (+) | compile s | share of the whole | most of it |')
    print('|---|---|---|---|---|')
    seen = []
    for d in ['tiny'] + sorted(x for x in os.listdir(work) if x.startswith(('block-', 'off-'))):
        o = objs(f'{work}/{d}')
        if o in seen:
            continue  # a block that is only off-lines: its off- row says it
        seen.append(o)
        title = open(f'{work}/{d}/title').read().strip()
        parts = [('', o)] if d == 'tiny' else [('−', full - o), ('+', o - full)]
        cells = [[], [], [], []]
        by = {}
        for sign, diff in parts:
            if not diff and d != 'tiny':
                continue
            c = sum(t.get(x, 0) for x in diff)
            cells[0].append(f'{sign}{len(diff)}')
            cells[1].append(f'{sign}{c:.1f}')
            cells[2].append(f'{sign}{100 * c / total:.1f} %')
            for x in diff:
                k = '/'.join(x.split('/')[:2]) if x.count('/') > 1 else x.split('/')[0] + '/'
                by[k] = by.get(k, 0) + t.get(x, 0)
        top = ', '.join(f'{k} {v:.1f}' for k, v in sorted(by.items(), key=lambda kv: -kv[1])[:4])
        print(f"| {title[:80]} | {' '.join(cells[0]) or '0'} | {' '.join(cells[1]) or '0'} | {' '.join(cells[2]) or '0'} | {top} |")

if __name__ == '__main__':
    {'split': split, 'report': report}[sys.argv[1]](sys.argv[2], sys.argv[3])
