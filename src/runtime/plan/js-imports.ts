// The module specifiers a JavaScript or TypeScript file imports, read with TypeScript's own parser.
import ts from 'typescript';

/** How a module is imported: it decides the resolution mode under Node16/NodeNext. */
export type JsImportKind = 'static' | 'dynamic' | 'require' | 'reference';

export interface JsImport {
  specifier: string;
  kind: JsImportKind;
  /** Erased at compile time: `import type`, `export type … from`, types-only named imports, `typeof import('x')`. */
  typeOnly: boolean;
}

/**
 * Every literal import of a file: ESM imports and re-exports (side-effect ones included), `import('x')`,
 * `require('x')`, `import x = require('x')`, `import('x')` types and `/// <reference path>` directives. Computed specifiers are not
 * statically knowable and are skipped.
 */
export function extractJsImports(fileName: string, text: string): JsImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const found: JsImport[] = [];
  const visit = (node: ts.Node): void => {
    const one = importOf(node);
    if (one !== undefined) found.push(one);
    ts.forEachChild(node, visit);
  };
  visit(source);
  // `/// <reference path="x" />` names a file, not a module: compile-time only.
  for (const ref of source.referencedFiles) found.push({ specifier: ref.fileName, kind: 'reference', typeOnly: true });
  return found;
}

function importOf(node: ts.Node): JsImport | undefined {
  if (ts.isImportDeclaration(node)) return literal(node.moduleSpecifier, 'static', typeOnlyClause(node.importClause));
  if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
    const named = node.exportClause !== undefined && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
    return literal(node.moduleSpecifier, 'static', node.isTypeOnly || (named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly)));
  }
  if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
    return literal(node.moduleReference.expression, 'require', node.isTypeOnly);
  }
  if (ts.isCallExpression(node) && node.arguments.length > 0) {
    if (node.expression.kind === ts.SyntaxKind.ImportKeyword) return literal(node.arguments[0]!, 'dynamic', false);
    if (ts.isIdentifier(node.expression) && node.expression.text === 'require') return literal(node.arguments[0]!, 'require', false);
  }
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) return literal(node.argument.literal, 'dynamic', true);
  return undefined;
}

/** `import type …`, or named imports that are all `type` (TypeScript erases the whole import). */
function typeOnlyClause(clause: ts.ImportClause | undefined): boolean {
  if (clause === undefined) return false;
  if (clause.phaseModifier === ts.SyntaxKind.TypeKeyword) return true;
  const named = clause.namedBindings;
  return clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

function literal(node: ts.Node, kind: JsImportKind, typeOnly: boolean): JsImport | undefined {
  if (!ts.isStringLiteral(node) && !ts.isNoSubstitutionTemplateLiteral(node)) return undefined;
  return { specifier: node.text, kind, typeOnly };
}
